"""Slither static analysis over the deployable contracts, run with the offline compiler."""

from __future__ import annotations

import json
import subprocess

import pytest

from chain.toolchain import PROJECT_ROOT, SOLCX_DIR, VENV_BIN, solc_version

DEPLOYABLE = ["SkillEscrow", "Reputation", "SkillCredential"]


@pytest.mark.slow
@pytest.mark.parametrize("name", DEPLOYABLE)
def test_slither_finds_no_high_or_medium_issue(name: str) -> None:
    result = subprocess.run(
        [
            str(VENV_BIN / "slither"),
            f"contracts/{name}.sol",
            "--solc",
            str(SOLCX_DIR / f"solc-v{solc_version()}"),
            "--solc-remaps",
            "@openzeppelin/contracts/=node_modules/@openzeppelin/contracts/",
            "--solc-args",
            "--optimize --via-ir --evm-version prague",
            "--exclude-informational",
            "--exclude-low",
            "--exclude-optimization",
            "--filter-paths",
            "node_modules",
            "--json",
            "-",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = json.loads(result.stdout)
    assert report["success"], report.get("error") or result.stderr[-2000:]
    findings = [
        f"{d['check']} ({d['impact']}): {d['description'].strip()}"
        for d in report["results"].get("detectors", [])
        if d["impact"] in ("High", "Medium")
    ]
    assert findings == [], "\n".join(findings)
