"""`skillchain ipfs ...` prints what `ipfs add` prints and moves content through CAR files."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from skillchain.cli import app


def test_ipfs_commands(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"SKILLCHAIN_DATA_DIR": str(tmp_path / "data")}
    f = tmp_path / "hello.txt"
    f.write_bytes(b"hello world\n")
    added = runner.invoke(app, ["ipfs", "add", str(f)], env=env)
    assert added.exit_code == 0, added.output
    assert added.output.strip() == "added QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o hello.txt"
    v1 = runner.invoke(app, ["ipfs", "cid", str(f), "--cid-version", "1"], env=env)
    assert v1.output.strip() == "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"
    out = tmp_path / "out.txt"
    got = runner.invoke(
        app, ["ipfs", "get", "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o", "-o", str(out)], env=env
    )
    assert got.exit_code == 0 and out.read_bytes() == b"hello world\n"
    car = tmp_path / "x.car"
    exported = runner.invoke(
        app, ["ipfs", "export-car", "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o", "-o", str(car)], env=env
    )
    assert exported.exit_code == 0
    other = {"SKILLCHAIN_DATA_DIR": str(tmp_path / "other")}
    imported = runner.invoke(app, ["ipfs", "import-car", str(car)], env=other)
    assert "pinned root QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o" in imported.output
    missing = runner.invoke(
        app, ["ipfs", "get", "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"], env=env
    )
    assert missing.exit_code == 1 and "not found" in missing.output
