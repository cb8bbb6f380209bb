"""Gas benchmark: Skillchain's contracts against peers, every figure from anvil receipts, all compiled
and run in this one process.

Peers: an OpenZeppelin-composed credential (bench/contracts/BaselineCredential.sol), EAS `attest`
(npm @ethereum-attestation-service/eas-contracts 1.9.0, compiled with its own pinned solc 0.8.29)
on a four-field schema registered in the same run, and a straightforward struct escrow
(bench/contracts/BaselineEscrow.sol, with plainly written accept and signed-offer functions).
Targets are from issues #5 and #19.

    make bench-gas        (or: .venv/bin/python bench/gas.py)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eth_abi.abi import encode  # noqa: E402
from web3 import Web3  # noqa: E402

from bench.common import compile_files, start_anvil  # noqa: E402
from chain.artifacts import Artifact, load_artifact  # noqa: E402
from chain.compile_if_needed import ensure_compiled  # noqa: E402
from chain.offers import Offer, offer_typed_data  # noqa: E402
from chain.tx import Sender, anvil_account  # noqa: E402

CACHE = ROOT / ".bench-cache"
EAS_VERSION = "1.9.0"
ETH = "0x0000000000000000000000000000000000000000"


def eas_sources() -> Path:
    """EAS contracts from the npm registry (`npm pack`: the package alone, without its hardhat dependency)."""
    target = CACHE / f"eas-{EAS_VERSION}"
    if not (target / "contracts" / "EAS.sol").exists():
        CACHE.mkdir(exist_ok=True)
        subprocess.run(
            ["npm", "pack", f"@ethereum-attestation-service/eas-contracts@{EAS_VERSION}", "--silent"],
            cwd=CACHE,
            check=True,
            capture_output=True,
        )
        tgz = next(CACHE.glob("ethereum-attestation-service-eas-contracts-*.tgz"))
        with tarfile.open(tgz) as tar:
            tar.extractall(CACHE / "eas-extract", filter="data")
        (CACHE / "eas-extract" / "package").rename(target)
        tgz.unlink()
    return target


def main() -> None:
    ensure_compiled()
    eas_dir = eas_sources()
    baselines = compile_files(
        {
            "bench/contracts/BaselineCredential.sol": ROOT / "bench/contracts/BaselineCredential.sol",
            "bench/contracts/BaselineEscrow.sol": ROOT / "bench/contracts/BaselineEscrow.sol",
        },
        package="solc",
        via_ir=True,
    )
    eas = compile_eas(eas_dir)

    proc, url = start_anvil()
    try:
        run(url, baselines, eas)
    finally:
        proc.terminate()
        proc.wait()


def compile_eas(eas_dir: Path) -> dict[str, Artifact]:
    """EAS with its own pinned compiler; its relative imports resolve from its package folder."""
    contracts = eas_dir / "contracts"
    request = {
        "language": "Solidity",
        "sources": {
            "SchemaRegistry.sol": {"urls": [str(contracts / "SchemaRegistry.sol")]},
            "EAS.sol": {"urls": [str(contracts / "EAS.sol")]},
        },
        "settings": {
            "optimizer": {"enabled": True, "runs": 200},
            "viaIR": True,
            "evmVersion": "prague",
            "remappings": [f"@openzeppelin/contracts/={ROOT}/node_modules/@openzeppelin/contracts/"],
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
        },
    }
    out = subprocess.run(
        ["node", str(ROOT / "tools" / "solc.mjs"), "--standard-json", "--base-path", str(contracts)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        check=True,
        cwd=contracts,
        env=os.environ | {"SOLC_JS_PACKAGE": "solc-0.8.29"},
    ).stdout
    result = json.loads(out)
    errors = [e["formattedMessage"] for e in result.get("errors", []) if e["severity"] == "error"]
    if errors:
        raise SystemExit("EAS compilation failed:\n" + "\n".join(errors))
    found = {}
    for source in ("SchemaRegistry.sol", "EAS.sol"):
        for name, c in result["contracts"][source].items():
            if name in ("SchemaRegistry", "EAS"):
                found[name] = Artifact(name, c["abi"], "0x" + c["evm"]["bytecode"]["object"], source)
    return found


def run(url: str, baselines: dict[str, Artifact], eas_art: dict[str, Artifact]) -> None:
    w3 = Web3(Web3.HTTPProvider(url))
    admin, provider, client = anvil_account(0), anvil_account(1), anvil_account(2)
    arbiter, treasury = anvil_account(3), anvil_account(4)
    s_admin, s_provider, s_client = Sender(w3, admin), Sender(w3, provider), Sender(w3, client)
    now = w3.eth.get_block("latest")["timestamp"]
    results: list[tuple[str, int, str, int | None, float | None]] = []

    def gas(receipt: Any) -> int:
        return int(receipt["gasUsed"])

    # --- deploy ours
    escrow, _ = s_admin.deploy(load_artifact("SkillEscrow"), admin.address, 0, treasury.address, 250)
    s_admin.call(escrow.functions.grantRole(escrow.functions.ARBITER_ROLE().call(), arbiter.address))
    rep, _ = s_admin.deploy(load_artifact("Reputation"), admin.address, 0, escrow.address)
    s_admin.call(rep.functions.setReviewMinimum(ETH, 10**15))
    cred, _ = s_admin.deploy(load_artifact("SkillCredential"), admin.address, 0, escrow.address)
    s_admin.call(cred.functions.grantRole(cred.functions.ISSUER_ROLE().call(), provider.address))
    # --- deploy peers
    base_cred, _ = s_provider.deploy(baselines["BaselineCredential"])
    base_escrow, _ = s_admin.deploy(baselines["BaselineEscrow"], treasury.address)
    registry, _ = s_admin.deploy(eas_art["SchemaRegistry"])
    eas, _ = s_admin.deploy(eas_art["EAS"], registry.address)
    schema = "bytes32 skillId,bytes32 metadataDigest,uint64 expiresAt,uint256 engagementId"
    s_admin.call(registry.functions.register(schema, ETH, True))
    schema_uid = Web3.solidity_keccak(["string", "address", "bool"], [schema, ETH, True])

    def fresh() -> str:
        return Web3.to_checksum_address(os.urandom(20))

    skill, expires = b"\x44" * 32, now + 365 * 86400
    uri = "ipfs://bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"  # 66 bytes

    def ours_issue(to: str, n: int) -> int:
        digest = Web3.keccak(text=f"credential-{n}")
        return gas(s_provider.call(cred.functions.issue(to, skill, digest, expires, 0)))

    def base_issue(to: str) -> int:
        return gas(s_provider.call(base_cred.functions.issue(to, skill, uri, expires)))

    def eas_attest(to: str, n: int) -> int:
        data = encode(
            ["bytes32", "bytes32", "uint64", "uint256"], [skill, bytes(Web3.keccak(text=f"m{n}")), expires, 0]
        )
        request = (schema_uid, (to, expires, True, b"\x00" * 32, data, 0))
        return gas(s_provider.call(eas.functions.attest(request)))

    holder = fresh()
    ours_first, ours_repeat = ours_issue(holder, 1), ours_issue(holder, 2)
    holder = fresh()
    base_first, base_repeat = base_issue(holder), base_issue(holder)
    holder = fresh()
    eas_first, eas_repeat = eas_attest(holder, 1), eas_attest(holder, 2)

    def create(contract: Any, sender: Sender) -> tuple[int, int]:
        receipt = sender.call(
            contract.functions.createEngagement(
                provider.address, ETH, [10**18], [now + 86400 * 7], 86400, arbiter.address, b"\x11" * 32
            ),
            value=10**18,
        )
        return gas(receipt), int(
            contract.functions.engagementCount().call()
            if ours_of(contract)
            else contract.functions.nextId().call()
        )

    def ours_of(contract: Any) -> bool:
        return contract.address == escrow.address

    def accept(contract: Any, eid: int) -> int:
        return gas(s_provider.call(contract.functions.acceptEngagement(eid)))

    # Requests: create, then the provider accepts.
    ours_create_1, ours_req = create(escrow, s_client)
    ours_accept = accept(escrow, ours_req)
    ours_create_2, ours_req_2 = create(escrow, s_client)
    base_create_1, base_req = create(base_escrow, s_client)
    base_accept = accept(base_escrow, base_req)
    base_create_2, _ = create(base_escrow, s_client)

    chain_id = w3.eth.chain_id

    def session_offer(nonce: int, uses: int) -> Offer:
        return Offer(
            provider=provider.address,
            token=ETH,
            amounts=[10**16],
            reviewWindow=86400,
            arbiter=arbiter.address,
            termsDigest=b"\x11" * 32,
            nonce=nonce,
            validUntil=now + 60 * 86400,
            sessionLength=3600,
            grace=7 * 86400,
            minNotice=3600,
            horizon=30 * 86400,
            uses=uses,
        )

    def signed(contract: Any, offer: Offer, name: str, version: str) -> bytes:
        data = offer_typed_data(chain_id, contract.address, offer.message())
        data["domain"] |= {"name": name, "version": version}
        from eth_account import Account
        from eth_account.messages import encode_typed_data

        return bytes(Account.sign_message(encode_typed_data(full_message=data), provider.key).signature)

    booking = [0]

    def take(contract: Any, offer: Offer) -> tuple[int, int]:
        name, version = ("SkillEscrow", "2") if ours_of(contract) else ("BaselineEscrow", "1")
        booking[0] += 1
        starts = w3.eth.get_block("latest")["timestamp"] + 2 * 86400 + booking[0] * 7200
        receipt = s_client.call(
            contract.functions.createEngagementWithOffer(
                offer.as_tuple(),
                signed(contract, offer, name, version),
                starts,
                booking[0].to_bytes(32, "big"),
                2**63,
            ),
            value=sum(offer.amounts),
        )
        eid = (
            contract.functions.engagementCount().call()
            if ours_of(contract)
            else contract.functions.nextId().call()
        )
        return gas(receipt), int(eid)

    offer_rows: dict[str, tuple[int, int]] = {}
    for contract, who in ((escrow, "ours"), (base_escrow, "base")):
        single_first, first_eid = take(contract, session_offer(1000, 1))  # a fresh nonce word
        single_shared, _ = take(contract, session_offer(1001, 1))  # same bitmap word, already written
        standing = session_offer(5000, 10)
        standing_first, _ = take(contract, standing)
        standing_second, _ = take(contract, standing)
        offer_rows[who] = (single_first, single_shared)
        offer_rows[who + "-standing"] = (standing_first, standing_second)
        offer_rows[who + "-eid"] = (first_eid, 0)

    def lifecycle(contract: Any, ours: bool, eid: int) -> int:
        total = 0
        total += gas(s_provider.call(contract.functions.submitMilestone(eid, 0, b"\x22" * 32)))
        total += gas(s_client.call(contract.functions.approveMilestone(eid, 0)))
        total += gas(
            s_provider.call(contract.functions.withdraw(ETH) if ours else contract.functions.withdraw())
        )
        return total

    ours_cycle = ours_create_1 + ours_accept + lifecycle(escrow, True, ours_req)
    base_cycle = base_create_1 + base_accept + lifecycle(base_escrow, False, base_req)
    ours_offer_cycle = offer_rows["ours"][1] + lifecycle(escrow, True, offer_rows["ours-eid"][0])
    base_offer_cycle = offer_rows["base"][1] + lifecycle(base_escrow, False, offer_rows["base-eid"][0])

    # engagement-backed credential: the request is accepted, settled and paid, provider -> client
    backed = gas(
        s_provider.call(
            cred.functions.issue(client.address, skill, Web3.keccak(text="backed"), expires, ours_req)
        )
    )
    review = gas(s_client.call(rep.functions.review(ours_req, 5, b"\x33" * 32)))
    del ours_req_2

    results = [
        ("SkillCredential.issue, fresh holder", ours_first, "OZ ERC721URIStorage baseline", base_first, 0.5),
        (
            "SkillCredential.issue, repeat holder",
            ours_repeat,
            "OZ ERC721URIStorage baseline",
            base_repeat,
            0.5,
        ),
        ("SkillCredential.issue, fresh holder", ours_first, "EAS attest (4 fields)", eas_first, 0.5),
        ("SkillCredential.issue, repeat holder", ours_repeat, "EAS attest (4 fields)", eas_repeat, 0.5),
        ("SkillCredential.issue, engagement-backed", backed, "EAS attest (4 fields)", eas_first, None),
        ("createEngagement ETH, 1 milestone", ours_create_1, "absolute target", 90_000, None),
        (
            "createEngagement ETH, 1 milestone (repeat)",
            ours_create_2,
            "struct escrow baseline",
            base_create_2,
            None,
        ),
        ("createEngagement ETH, 1 milestone", ours_create_1, "struct escrow baseline", base_create_1, None),
        ("acceptEngagement", ours_accept, "absolute target", 35_000, None),
        ("acceptEngagement", ours_accept, "struct escrow baseline", base_accept, None),
        ("withOffer, single-use, shared nonce word", offer_rows["ours"][1], "absolute target", 108_000, None),
        (
            "withOffer, standing offer, 2nd booking",
            offer_rows["ours-standing"][1],
            "absolute target",
            108_000,
            None,
        ),
        (
            "withOffer, single-use, fresh nonce word",
            offer_rows["ours"][0],
            "struct escrow baseline",
            offer_rows["base"][0],
            None,
        ),
        (
            "withOffer, single-use, shared nonce word",
            offer_rows["ours"][1],
            "struct escrow baseline",
            offer_rows["base"][1],
            None,
        ),
        (
            "withOffer, standing offer, 1st booking",
            offer_rows["ours-standing"][0],
            "struct escrow baseline",
            offer_rows["base-standing"][0],
            None,
        ),
        (
            "withOffer, standing offer, 2nd booking",
            offer_rows["ours-standing"][1],
            "struct escrow baseline",
            offer_rows["base-standing"][1],
            None,
        ),
        ("request+accept+submit+approve+withdraw", ours_cycle, "struct escrow baseline", base_cycle, 0.6),
        ("offer+submit+approve+withdraw", ours_offer_cycle, "struct escrow baseline", base_offer_cycle, 0.6),
        ("Reputation.review", review, "EAS attest (4 fields)", eas_first, 0.4),
    ]
    from chain.artifacts import compiler_info

    print(
        f"gas from anvil receipts (Prague, optimizer 200; ours and baselines solc {compiler_info().version}, "
        "via-IR; EAS with its pinned solc 0.8.29)"
    )
    print(f"{'operation':<44} {'ours':>8}  {'peer':<30} {'peer gas':>8} {'ratio':>6} {'target':>7}")
    for op, mine, peer, theirs, target in results:
        ratio = mine / theirs if theirs else float("nan")
        goal = (
            f"<= {target:.1f}x" if target else (f"<= {theirs // 1000}k" if peer == "absolute target" else "")
        )
        verdict = "" if not target else ("  ok" if ratio <= target else "  MISSED")
        if peer == "absolute target":
            verdict = "  ok" if mine <= theirs else "  MISSED"
        print(f"{op:<44} {mine:>8}  {peer:<30} {theirs:>8} {ratio:>5.2f}x {goal:>7}{verdict}")


if __name__ == "__main__":
    main()
