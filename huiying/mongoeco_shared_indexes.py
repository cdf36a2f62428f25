"""Correction 9 to mongoeco 4.11.0 (SQLite): one physical index per entry table instead of one per MongoDB index.

A sibling of huiying/mongoeco_patch.py, applied by it; pinned to the same version (huiying/mongoeco_version.py).
docs/mongoeco-shared-indexes.md shows the defect and the figures; docs/mongoeco-shared-indexes.py reproduces it.

The defect. SQLite keeps the entries of every MongoDB index of a database in two shared tables,
`multikey_entries` (one row per array element) and `scalar_index_entries` (one row per document and
single-field index). For EVERY MongoDB index, 4.11.0 creates its own SQLite index on those tables
(`mkidx_<hash>`, `scidx_<hash>`), and all of them have the same columns:
`(collection_id, index_name, type_score, element_key, storage_key)`. The first two columns already separate
the MongoDB indexes, so any one of them serves every look-up that any other serves; but SQLite maintains all
of them on every row written. Routing's database has about 35 MongoDB indexes: a task's 20-odd search words
went into 35 identical B-trees each (about 750 B-tree inserts for the multikey rows alone), and the index
pages dominated the file (282 MB at 4,000 tasks, 5.4 MB per copy) and every commit's WAL write.

The correction, three small parts:
1. The physical names (`SQLiteEngine._physical_multikey_index_name` / `_physical_scalar_index_name`) are one
   name per table, so a MongoDB index created from now on refers to the shared SQLite index.
2. On the engine's connections (mongoeco's `SQLiteConnection.execute`), creating one of the shared indexes is
   `CREATE INDEX IF NOT EXISTS` (it exists after the first MongoDB index), and dropping one is skipped (other
   MongoDB indexes still read through it; the entries of the dropped index are deleted by mongoeco as before).
3. A database written without the correction is migrated when the engine opens it (in the same step as
   correction 8, inside the opening transaction): its catalogue rows point at the shared names, and the
   redundant `mkidx_` / `scidx_` indexes are dropped.
Reads are unchanged: mongoeco names the physical index in `INDEXED BY`, and the shared one has the columns it
expects. The memory engine is not concerned.
"""

from __future__ import annotations

import functools
import sqlite3
from typing import Any

from huiying.mongoeco_version import PINNED, installed_version

_MARK = "_huiying_shared_indexes_patched"
SHARED_MULTIKEY = "huiying_multikey_entries_lookup"
SHARED_SCALAR = "huiying_scalar_index_entries_lookup"
_COLUMNS = "(collection_id, index_name, type_score, element_key, storage_key)"
_TABLES = {SHARED_MULTIKEY: "multikey_entries", SHARED_SCALAR: "scalar_index_entries"}
# mongoeco quotes the name (SQLiteEngine._quote_identifier) in both statements.
_CREATE = tuple(f'CREATE INDEX "{name}" ' for name in _TABLES)
_DROP = tuple(f'DROP INDEX IF EXISTS "{name}"' for name in _TABLES)
_STATEMENTS = _CREATE + _DROP


def _shared_name(name: str) -> Any:
    def physical_name(self: Any, db_name: str, coll_name: str, index_name: str) -> str:
        return name

    setattr(physical_name, _MARK, True)
    return physical_name


def _execute(base: Any) -> Any:
    @functools.wraps(base)
    def execute(self: sqlite3.Connection, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql.startswith(_STATEMENTS):
            if sql.startswith(_DROP):
                return base(self, "SELECT 1 WHERE 0")  # other MongoDB indexes still read through it
            sql = "CREATE INDEX IF NOT EXISTS " + sql[len("CREATE INDEX ") :]
        return base(self, sql, *args)

    setattr(execute, _MARK, True)
    return execute


def migrate(connection: sqlite3.Connection) -> int:
    """Point every catalogue row at the shared indexes and drop the per-index copies; returns how many were dropped.
    A no-op on a database already migrated or new (`indexes` is created by mongoeco before this runs)."""
    for name, table in _TABLES.items():
        connection.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON {table} {_COLUMNS}')
    connection.execute(
        "UPDATE indexes SET multikey_physical_name = ? "
        "WHERE multikey_physical_name IS NOT NULL AND multikey_physical_name != ?",
        (SHARED_MULTIKEY, SHARED_MULTIKEY),
    )
    connection.execute(
        "UPDATE indexes SET scalar_physical_name = ? "
        "WHERE scalar_physical_name IS NOT NULL AND scalar_physical_name != ?",
        (SHARED_SCALAR, SHARED_SCALAR),
    )
    copies = [
        row[0]
        for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND ("
            "(tbl_name = 'multikey_entries' AND name LIKE 'mkidx\\_%' ESCAPE '\\') OR "
            "(tbl_name = 'scalar_index_entries' AND name LIKE 'scidx\\_%' ESCAPE '\\'))"
        ).fetchall()
    ]
    for name in copies:
        connection.execute(f'DROP INDEX IF EXISTS "{name}"')
    return len(copies)


def _migrate_on_open(method: Any) -> Any:
    """Wrap SQLiteEngine._backfill_scalar_indexes_sync, which runs once while the engine opens its database, on the
    connection being set up and before its commit (correction 8 wraps it the same way)."""

    @functools.wraps(method)
    def wrapper(self: Any, connection: sqlite3.Connection, *args: Any, **kwargs: Any) -> Any:
        result = method(self, connection, *args, **kwargs)
        migrate(connection)
        return result

    setattr(wrapper, _MARK, True)
    return wrapper


def apply(version: str | None = None) -> str:
    found = version if version is not None else installed_version()
    if found != PINNED:
        return f"mongoeco {found} is not {PINNED}: the shared-index correction is not applied (check if still needed)"
    from mongoeco.engines._sqlite_connection import SQLiteConnection
    from mongoeco.engines.sqlite import SQLiteEngine

    if not getattr(SQLiteEngine._physical_multikey_index_name, _MARK, False):
        SQLiteEngine._physical_multikey_index_name = _shared_name(SHARED_MULTIKEY)  # type: ignore[method-assign,assignment]
    if not getattr(SQLiteEngine._physical_scalar_index_name, _MARK, False):
        SQLiteEngine._physical_scalar_index_name = _shared_name(SHARED_SCALAR)  # type: ignore[method-assign,assignment]
    if not getattr(SQLiteConnection.execute, _MARK, False):
        SQLiteConnection.execute = _execute(SQLiteConnection.execute)  # type: ignore[method-assign]
    backfill = SQLiteEngine._backfill_scalar_indexes_sync
    if not getattr(backfill, _MARK, False):
        SQLiteEngine._backfill_scalar_indexes_sync = _migrate_on_open(backfill)  # type: ignore[method-assign]
    return f"mongoeco {found}: one SQLite index per entry table"


def is_applied() -> bool:
    from mongoeco.engines._sqlite_connection import SQLiteConnection
    from mongoeco.engines.sqlite import SQLiteEngine

    return bool(
        getattr(SQLiteEngine._physical_multikey_index_name, _MARK, False)
        and getattr(SQLiteEngine._physical_scalar_index_name, _MARK, False)
        and getattr(SQLiteConnection.execute, _MARK, False)
        and getattr(SQLiteEngine._backfill_scalar_indexes_sync, _MARK, False)
    )
