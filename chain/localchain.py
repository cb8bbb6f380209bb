"""The embedded local chain: an anvil process whose state persists in the data folder."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from web3 import Web3

from chain.errors import ChainUnavailable, LocalChainError
from chain.toolchain import anvil_binary


def rpc_call(url: str, method: str, params: list[object] | None = None, timeout: float = 5.0) -> object:
    """One JSON-RPC call through web3.py's HTTP provider; any failure is ChainUnavailable."""
    if not url.startswith(("http://", "https://")):
        raise ChainUnavailable(f"{url} is not an http(s) JSON-RPC URL")
    provider = Web3.HTTPProvider(url, request_kwargs={"timeout": timeout})
    try:
        payload = provider.make_request(method, params or [])
    except Exception as exc:  # noqa: BLE001 - transport errors of every kind mean "did not answer"
        raise ChainUnavailable(f"{url} did not answer {method}: {exc}") from None
    if "error" in payload:
        raise ChainUnavailable(f"{url} answered {method} with an error: {payload['error']}")
    return payload.get("result")


def genesis_hash(url: str) -> str:
    block = rpc_call(url, "eth_getBlockByNumber", ["0x0", False])
    if not isinstance(block, dict) or "hash" not in block:
        raise ChainUnavailable(f"{url} returned no genesis block")
    return str(block["hash"])


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


@dataclass
class LocalChain:
    """An anvil process. ``--state`` loads the chain from the data folder and dumps it on exit."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8545
    chain_id: int = 31337
    block_time: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def state_file(self) -> Path:
        return self.data_dir / "chain" / f"anvil-{self.chain_id}.json"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "chain" / "anvil.log"

    def start(self, timeout: float = 30.0) -> None:
        if port_in_use(self.host, self.port):
            raise LocalChainError(
                f"port {self.port} on {self.host} is already in use: stop whatever runs there, set "
                "SKILLCHAIN_ANVIL_PORT to another port, or set SKILLCHAIN_RPC_URL to use that chain"
            )
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        cmd = [
            anvil_binary(),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--chain-id",
            str(self.chain_id),
            "--state",
            str(self.state_file),
            "--state-interval",
            "5",  # survive a hard kill with at most 5 s of blocks lost
        ]
        if self.block_time:
            cmd += ["--block-time", str(self.block_time)]
        log = self.log_file.open("ab")
        self.process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LocalChainError(
                    f"anvil exited with code {self.process.returncode}; see {self.log_file}"
                )
            try:
                rpc_call(self.url, "eth_chainId", timeout=1.0)
                return
            except ChainUnavailable:
                time.sleep(0.1)
        self.stop()
        raise LocalChainError(
            f"anvil did not answer on {self.url} within {timeout:.0f} s; see {self.log_file}"
        )

    def stop(self, timeout: float = 15.0) -> None:
        """SIGINT lets anvil dump its state; escalate to SIGKILL only if it hangs."""
        proc = self.process
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
