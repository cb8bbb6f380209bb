"""INSERT … ON CONFLICT DO UPDATE for SQLite and PostgreSQL alike (both speak it; SQLAlchemy builds
it per dialect): one statement, so two writers of one key at once never meet a unique violation."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert


def upsert(
    conn: Connection,
    table: Table,
    values: Mapping[str, Any],
    keys: Sequence[str],
    *,
    only_if: Callable[[Any], Any] | None = None,
) -> Insert:
    """Insert `values`, or update the row with the same `keys` to them. `only_if(excluded)`, when
    given, is the condition under which an existing row is updated (else it stays: rowcount 0)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(**values)
    return statement.on_conflict_do_update(  # type: ignore[no-any-return]
        index_elements=list(keys),
        set_={k: statement.excluded[k] for k in values if k not in keys},
        where=None if only_if is None else only_if(statement.excluded),
    )
