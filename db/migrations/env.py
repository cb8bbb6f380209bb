"""Alembic environment: the engine comes from db.migrate (never from a hard-coded URL).

The whole upgrade is one transaction on every database. PostgreSQL's DDL is transactional anyway;
Python's sqlite3 module, left to itself, commits before each CREATE/ALTER, so a process killed in the
middle of a migration would leave tables without the version that records them. On SQLite the
connection is therefore switched to explicit transactions and the upgrade runs inside
``BEGIN IMMEDIATE`` (which also makes a second process that migrates at the same moment wait for
the first, then find nothing left to do).
"""

from __future__ import annotations

from alembic import context

import db.auth
import db.booking
import db.chain
import db.credentials
import db.documents
import db.mail
import db.market
import db.outbox
import db.payments  # noqa: F401
from db.metadata import metadata

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    driver = connection.connection.driver_connection
    previous = driver.isolation_level if sqlite else None
    if sqlite:
        driver.isolation_level = None  # no implicit BEGIN/COMMIT around statements
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    try:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    finally:
        if sqlite:
            driver.isolation_level = previous
