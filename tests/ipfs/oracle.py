"""The JS UnixFS importer (npm ipfs-unixfs-importer, Kubo's defaults) as an independent CID oracle."""

from __future__ import annotations

import subprocess
from pathlib import Path

from chain.toolchain import PROJECT_ROOT


def oracle_cid(path: Path, cid_version: int) -> str:
    result = subprocess.run(
        ["node", str(PROJECT_ROOT / "tools" / "unixfs-oracle.mjs"), str(path), str(cid_version)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return result.stdout.strip()
