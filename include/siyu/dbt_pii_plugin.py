"""dbt-duckdb plugin (``dbt_project/profiles.yml``): gives every dbt connection and cursor the
PII salt as the DuckDB session variable ``siyu_pii_salt`` (``SET VARIABLE`` with a bound
parameter), which the macro ``pii_hash`` reads with ``getvariable``. The salt is therefore
never part of the SQL dbt compiles, logs or writes to ``target/``. PostgreSQL reads it the
same way from the session setting ``siyu.pii_salt`` (``siyu.postgres`` passes it in
``PGOPTIONS``)."""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin

from . import pii

VARIABLE = "siyu_pii_salt"


def set_salt(conn) -> None:
    conn.execute(f"SET VARIABLE {VARIABLE} = ?", [pii.salt()])


class Plugin(BasePlugin):
    def configure_connection(self, conn) -> None:
        set_salt(conn)

    def configure_cursor(self, cursor) -> None:
        set_salt(cursor)
