"""`skillchain up`: starts anvil, deploys, keeps state across restarts, stops cleanly, detects a new chain."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chain.localchain import port_in_use
from chain.records import load_record
from chain.toolchain import VENV_BIN
from tests.net import free_port


def run_up(data_dir: Path, port: int, timeout: float = 120) -> tuple[str, int]:
    """Start `skillchain up`, wait until it is up, check the API, SIGINT it; return output and exit code."""
    api_port = free_port()
    env = os.environ | {
        "SKILLCHAIN_DATA_DIR": str(data_dir),
        "SKILLCHAIN_ANVIL_PORT": str(port),
        "SKILLCHAIN_API_PORT": str(api_port),
    }
    proc = subprocess.Popen(
        [str(VENV_BIN / "skillchain"), "up"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    for line in proc.stdout:
        lines.append(line)
        if "press Ctrl-C to stop" in line or time.monotonic() > deadline:
            break
    assert port_in_use("127.0.0.1", port), "".join(lines)
    import httpx

    assert httpx.get(f"http://127.0.0.1:{api_port}/health", timeout=10).json()["status"] == "ok"
    ready = httpx.get(f"http://127.0.0.1:{api_port}/ready", timeout=10).json()
    assert "deployments" not in ready["missing"] and "chain" not in ready["missing"], ready
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=60)
    return "".join(lines) + rest, proc.returncode


@pytest.mark.slow
def test_up_deploys_persists_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    out, code = run_up(tmp_path, port)
    assert code == 0, out
    assert "Skillchain is up" in out and "SkillEscrow" in out and "Reputation" in out
    record = load_record(tmp_path / "deployments" / "31337.json")
    assert record is not None and "TestStablecoin" in record.contracts

    assert not port_in_use("127.0.0.1", port), "anvil left behind"
    assert "API + dApp" in out

    out, code = run_up(tmp_path, port)  # same chain again: nothing redeployed
    assert code == 0 and "already deployed" in out, out
    assert not port_in_use("127.0.0.1", port)

    for state in (tmp_path / "chain").glob("anvil-*.json"):
        state.unlink()  # a brand-new chain behind the same URL
    time.sleep(1.1)  # a different genesis timestamp
    out, code = run_up(tmp_path, port)
    assert code == 0 and "stale" in out and "deployment record written" in out, out


def test_up_reports_a_busy_port(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        env = os.environ | {
            "SKILLCHAIN_DATA_DIR": str(tmp_path),
            "SKILLCHAIN_ANVIL_PORT": str(port),
        }
        result = subprocess.run(
            [sys.executable, "-m", "skillchain.cli", "up"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"port {port}" in result.stderr and "already in use" in result.stderr
    assert "Traceback" not in result.stderr


def test_several_replicas_on_sqlite_are_refused_in_words(tmp_path: Path) -> None:
    env = os.environ | {"SKILLCHAIN_DATA_DIR": str(tmp_path), "SKILLCHAIN_REDIS_URL": ""}
    env.pop("SKILLCHAIN_DATABASE_URL", None)
    out = subprocess.run(
        [str(VENV_BIN / "skillchain"), "up", "--replicas", "2"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert (
        out.returncode == 2
        and "PostgreSQL" in out.stderr + out.stdout
        and "SKILLCHAIN_REDIS_URL" in out.stderr + out.stdout
    )
