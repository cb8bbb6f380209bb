"""Alembic environment: the engine comes from db.migrate (never from a hard-coded URL)."""

from __future__ import annotations

from alembic import context

import db.auth
import db.chain
import db.credentials
import db.market
import db.payments  # noqa: F401
from db.metadata import metadata

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
