"""Migrations: in place, idempotent, and all-or-nothing when the process dies half way."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from sqlalchemy import inspect

from db.engine import make_engine
from db.migrate import upgrade

# Run the upgrade in a child that dies (no cleanup, like SIGKILL) right after the statement that
# creates `chain_events`, i.e. in the middle of the second migration.
DIE_MID_UPGRADE = """
import os, sys
from sqlalchemy import event
from db.engine import make_engine
from db.migrate import upgrade

engine = make_engine(sys.argv[1])

@event.listens_for(engine, "after_cursor_execute")
def _die(conn, cursor, statement, *args):
    if statement.lstrip().upper().startswith("CREATE TABLE CHAIN_EVENTS"):
        os._exit(9)

upgrade(engine)
"""


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_a_process_killed_mid_upgrade_leaves_nothing_half_done(tmp_path: Path) -> None:
    db = tmp_path / "half.db"
    child = subprocess.run(
        [sys.executable, "-c", DIE_MID_UPGRADE, f"sqlite:///{db}"],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
    )
    assert child.returncode == 9, child.stderr
    assert _tables(db) == set()  # the first migration's tables went with the rest
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)  # and the next start upgrades cleanly
    assert {"auth_nonces", "chain_events", "engagements", "alembic_version"} <= _tables(db)


def test_upgrade_twice_is_harmless(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'twice.db'}")
    upgrade(engine)
    upgrade(engine)
    assert "chain_events" in inspect(engine).get_table_names()
