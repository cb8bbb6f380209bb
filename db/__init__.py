"""Database: the engine (SQLite by default, PostgreSQL for scale-out), the schema in SQLAlchemy Core
(one module per owner: auth, chain read model, marketplace), and Alembic migrations."""
