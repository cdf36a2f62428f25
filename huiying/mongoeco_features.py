"""A correction to mongoeco 4.11.0's SQLite engine: its per-collection feature answers survive writes.

The defect: SQLiteEngine answers planning questions about a collection ("does any document hold a Decimal128 /
bytes / undefined / an array / a real number / non-ASCII text at this field?", "are all values at this field
numbers?") with one SQL pass over every row of the collection, and caches the answer in
`_collection_features_cache`. EVERY write to the collection (insert, update, replace, delete) drops all of the
collection's answers (`_invalidate_collection_features_cache(db, coll)`), so in a service whose writes never
stop, nearly every find with a filter or a sort on a non-`_id` field re-runs several full-collection passes
while planning: O(documents) per query before it reads a single result. docs/mongoeco-features.md measures it.

The correction keeps the answers across writes and brings them up to date from the written rows only:

- A TEMP trigger on the engine's write connection records the rowid of each row inserted into `documents` or
  whose `document` is updated (`temp.huiying_written`). The table is transactional like the write itself: a
  rolled-back write leaves no row (and 4.11.0 clears the whole cache on any rollback anyway).
- When a write calls `_invalidate_collection_features_cache(db, coll)`, each cached answer of that collection
  is re-evaluated by mongoeco's OWN method and SQL, run through a view of the engine whose connection reads
  `documents` restricted to the recorded rows (the predicate is never re-implemented here), and combined with
  the old answer as below. The recorded rows are then forgotten.

Per feature, what the written rows can do to the answer, and what is kept:

- "exists" features (`tagged_type:F:T`, `top_level_array:F`, `traverses_array:F`, `traverses_dbref:F`,
  `contains_real_numeric:F`, `contains_non_ascii_text:F`, `comparison_mismatch:F:T`,
  `scalar_or_array_comparison_mismatch:F:T`): the answer is "some row has property P". An insert or update can
  only add rows with P (old OR written rows: exact); a delete can only remove them, which leaves a stale yes. A
  yes only makes mongoeco take its slower general path (the one it takes whenever such a document exists), so a
  stale yes is slower, never wrong. A yes is kept without any SQL.
- `uniform_scalar_sort_type:F` ("number" / "string" / "bool": every row's value at F is of that JSON type,
  else False; False also for an empty collection) is not monotone. With W the answer over the written rows:
  no written row left (deletes only): every remaining row still has the type, keep the answer; W is False
  (a written row is of another type, or they mix): the collection is not uniform, False is exact; W equals
  the old type: the untouched rows had it and the written rows have it, exact; otherwise (W is a type and the
  old answer was another type or False, which may have meant "empty") the answer is dropped as 4.11.0 does,
  and the next planning recomputes it. False only keeps mongoeco off its SQL sort fast path (slower, right).

Concurrency. Dedicated readers (`_sqlite_reader.py`) plan on their own connection and snapshot, outside the
engine lock, so an answer they compute may miss a write that committed after their snapshot; 4.11.0 keeps such
an answer until the next write drops it. Here each connection is stamped with a write counter when it is
created (under the engine lock, between writes), and each collection with the counter of its last write: an
answer computed on a connection created before the collection's last write (or computed while a session
transaction was open, see below) is marked untrusted, and the next write drops it, exactly as 4.11.0 does.
Answers computed on the engine's own connection (under the engine lock) are current. The commit of a session
transaction clears all answers (readers outside it did not see its writes); its abort already does.

Index creation and removal, collection drop and rename, database drop, and connect/disconnect stay full
invalidations. Anything unexpected while re-evaluating (an SQL shape the view does not know) falls back to
4.11.0's behaviour: drop the collection's answers.

Pinned to mongoeco 4.11.0 like huiying/mongoeco_patch.py: on any other version nothing is changed.
"""

from __future__ import annotations

import functools
import inspect
import re
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from huiying.mongoeco_version import PINNED, installed_version  # one pin for every correction

_MARK = "_huiying_features_patched"
_STATE = "_huiying_features_state"
_STAMP = "_huiying_features_stamp"  # connection attribute: the write counter when it was created
_TRIGGERS = "_huiying_features_triggers"  # connection attribute: True once its TEMP triggers exist

# Feature methods of SQLiteEngine: name -> (cache-key format from the call's arguments, kind).
_FEATURES: dict[str, tuple[Callable[..., str], str]] = {
    "_field_has_uniform_scalar_sort_type_in_collection": (lambda f: f"uniform_scalar_sort_type:{f}", "uniform"),
    "_field_has_comparison_type_mismatch_in_collection": (lambda f, t: f"comparison_mismatch:{f}:{t}", "exists"),
    "_field_has_scalar_or_array_element_type_mismatch_in_collection": (
        lambda f, t: f"scalar_or_array_comparison_mismatch:{f}:{t}",
        "exists",
    ),
    "_field_traverses_array_in_collection": (lambda f: f"traverses_array:{f}", "exists"),
    "_field_traverses_dbref_in_collection": (lambda f: f"traverses_dbref:{f}", "exists"),
    "_field_contains_tagged_value_type_in_collection": (lambda f, t: f"tagged_type:{f}:{t}", "exists"),
    "_field_is_top_level_array_in_collection": (lambda f: f"top_level_array:{f}", "exists"),
    "_field_contains_real_numeric_in_collection": (lambda f: f"contains_real_numeric:{f}", "exists"),
    "_field_contains_non_ascii_text_in_collection": (lambda f: f"contains_non_ascii_text:{f}", "exists"),
}
# mongoeco's evaluators (unwrapped), and the call arguments of each cached key, filled by apply()/the wrappers.
_ORIGINALS: dict[str, Callable[..., Any]] = {}

_WRITTEN_DDL = (
    "CREATE TEMP TABLE IF NOT EXISTS huiying_written (doc_rowid INTEGER NOT NULL)",
    "CREATE TEMP TRIGGER IF NOT EXISTS huiying_written_insert AFTER INSERT ON main.documents "
    "BEGIN INSERT INTO huiying_written (doc_rowid) VALUES (NEW.rowid); END",
    "CREATE TEMP TRIGGER IF NOT EXISTS huiying_written_update AFTER UPDATE OF document ON main.documents "
    "BEGIN INSERT INTO huiying_written (doc_rowid) VALUES (NEW.rowid); END",
)
_WRITTEN_ROWS = (
    "SELECT documents.rowid FROM temp.huiying_written AS written "
    "JOIN main.documents AS documents ON documents.rowid = written.doc_rowid "
    "WHERE documents.db_name = ? AND documents.coll_name = ? LIMIT 1"
)
# Forget this collection's rows and rows whose document is gone; rows of other collections wait for their write's
# own invalidation (a leftover row only re-checks a stored document of its collection: still exact).
_FORGET = (
    "DELETE FROM temp.huiying_written WHERE NOT EXISTS (SELECT 1 FROM main.documents AS documents "
    "WHERE documents.rowid = huiying_written.doc_rowid AND NOT (documents.db_name = ? AND documents.coll_name = ?))"
)
_FROM_DOCUMENTS = re.compile(r"\bFROM\s+documents\b")
# CROSS JOIN keeps the recorded rows as SQLite's outer loop: with `rowid IN (...)` the planner flattened the subquery
# and walked the collection through an index on (db_name, coll_name), testing each row (O(documents) per write).
_RESTRICTED = (
    "FROM (SELECT all_documents.* FROM temp.huiying_written AS written "
    "CROSS JOIN main.documents AS all_documents ON all_documents.rowid = written.doc_rowid) AS documents"
)


@dataclass
class _State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    counter: int = 0
    last_write: dict[tuple[str, str], int] = field(default_factory=dict)
    last_all: int = 0
    # feature key -> the feature method's name and arguments after (db, coll), for re-evaluation
    calls: dict[tuple[str, str, str], tuple[str, tuple[Any, ...]]] = field(default_factory=dict)
    untrusted: set[tuple[str, str, str]] = field(default_factory=set)
    # answers kept or dropped by writes (diagnostics)
    kept: int = 0
    dropped: int = 0


def _state(engine: Any) -> _State:
    state = engine.__dict__.get(_STATE)
    if state is None:
        state = engine.__dict__.setdefault(_STATE, _State())
    return state  # type: ignore[no-any-return]


def _current_connection(engine: Any) -> Any:
    return getattr(engine._thread_local, "connection", None) or engine._connection


class _RestrictedConnection:
    """Runs a feature's SQL with `FROM documents` read as the recorded written rows only."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, parameters: Any = ()) -> sqlite3.Cursor:
        restricted, count = _FROM_DOCUMENTS.subn(_RESTRICTED, sql)
        if count != 1:
            raise ValueError("unexpected feature SQL shape")
        return self._conn.execute(restricted, parameters)


class _WrittenRowsView:
    """The engine as seen by one re-evaluation: its own empty feature cache and a restricted connection; every
    other attribute is the engine's, and methods are bound to the view (a feature calling another stays here)."""

    def __init__(self, engine: Any, conn: sqlite3.Connection) -> None:
        self._engine = engine
        self._restricted = _RestrictedConnection(conn)
        self._collection_features_cache: dict[tuple[str, str, str], bool | str] = {}

    def _require_connection(self, context: Any = None) -> Any:
        return self._restricted

    def __getattr__(self, name: str) -> Any:
        if name in _ORIGINALS:
            return functools.partial(_ORIGINALS[name], self)
        attribute = inspect.getattr_static(type(self._engine), name, None)
        if inspect.isfunction(attribute):
            return functools.partial(attribute, self)
        return getattr(self._engine, name)


def _remember(method_name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    key_of, _kind = _FEATURES[method_name]

    @functools.wraps(method)
    def wrapper(self: Any, db_name: str, coll_name: str, *args: Any, **kwargs: Any) -> Any:
        if kwargs:  # not a call shape 4.11.0 makes; untracked, so a write drops its answer as before
            return method(self, db_name, coll_name, *args, **kwargs)
        cache = self._collection_features_cache
        key = (db_name, coll_name, key_of(*args))
        if key in cache:
            return method(self, db_name, coll_name, *args)
        conn = _current_connection(self)
        result = method(self, db_name, coll_name, *args)
        state = _state(self)
        with state.lock:
            if key in cache:
                state.calls[key] = (method_name, args)
                stamp = getattr(conn, _STAMP, None)
                current = conn is self._connection or (
                    stamp is not None
                    and self._transaction_owner_session_id is None
                    and stamp >= max(state.last_write.get((db_name, coll_name), -1), state.last_all)
                )
                if current:
                    state.untrusted.discard(key)
                else:
                    state.untrusted.add(key)
        return result

    setattr(wrapper, _MARK, True)
    return wrapper


def _combine(kind: str, old: Any, written: Any) -> tuple[bool, Any]:
    """(keep, value) for an answer `old` after the written rows answered `written` (see the module docstring)."""
    if kind == "exists":
        return True, bool(old) or bool(written)
    if written is False or written is None:
        return True, False
    if written == old:
        return True, old
    return False, None


def _update_after_write(engine: Any, db_name: str, coll_name: str, full: Callable[[Any, str, str], None]) -> None:
    state = _state(engine)
    cache = engine._collection_features_cache
    conn = _current_connection(engine)
    with state.lock:
        state.counter += 1
        state.last_write[(db_name, coll_name)] = state.counter
        keys = [key for key in list(cache) if key[:2] == (db_name, coll_name)]
    if conn is None or not getattr(conn, _TRIGGERS, False) or not conn.in_transaction:
        # Outside a write's transaction (4.11.0's TTL purge invalidates after its commit) a statement here would open
        # an implicit transaction on the engine's connection that no commit closes: every later write would then be a
        # savepoint inside it, holding the write lock for ever. 4.11.0's full drop needs no SQL.
        with state.lock:
            state.dropped += len(keys)
        full(engine, db_name, coll_name)
        return
    try:
        if keys and conn.execute(_WRITTEN_ROWS, (db_name, coll_name)).fetchone() is not None:
            view = _WrittenRowsView(engine, conn)
            for key in keys:
                with state.lock:
                    call = state.calls.get(key)
                    untrusted = key in state.untrusted
                old = cache.get(key)
                kind = _FEATURES[call[0]][1] if call is not None else ""
                if call is None or untrusted or old is None:
                    cache.pop(key, None)
                    state.dropped += 1
                    continue
                if kind == "exists" and old is True:
                    state.kept += 1
                    continue
                view._collection_features_cache.clear()
                written = _ORIGINALS[call[0]](view, db_name, coll_name, *call[1])
                keep, value = _combine(kind, old, written)
                if keep:
                    cache[key] = value
                    state.kept += 1
                else:
                    cache.pop(key, None)
                    state.dropped += 1
        else:
            state.kept += len(keys)  # deletes only: every kept answer stays exact or a conservative yes
    except (sqlite3.Error, ValueError, TypeError):
        full(engine, db_name, coll_name)
    conn.execute(_FORGET, (db_name, coll_name))


def _incremental_invalidation(method: Callable[..., None]) -> Callable[..., None]:
    """Wrap SQLiteEngine._invalidate_collection_features_cache: the call a write makes with (db, coll) updates the
    collection's answers from the written rows; the call without a collection (connect, disconnect, rollback)
    clears everything as before."""

    @functools.wraps(method)
    def wrapper(self: Any, db_name: str | None = None, coll_name: str | None = None) -> None:
        if db_name is None or coll_name is None:
            state = _state(self)
            with state.lock:
                state.counter += 1
                state.last_all = state.counter
                state.untrusted.clear()
                state.calls.clear()
            method(self)
            return
        _update_after_write(self, db_name, coll_name, _full_collection(method))

    setattr(wrapper, _MARK, True)
    return wrapper


def _full_collection(method: Callable[..., None]) -> Callable[[Any, str, str], None]:
    def full(engine: Any, db_name: str, coll_name: str) -> None:
        state = _state(engine)
        with state.lock:
            state.counter += 1
            state.last_write[(db_name, coll_name)] = state.counter
        method(engine, db_name, coll_name)

    return full


def _full_invalidation(function: Callable[..., Any], method: Callable[..., None]) -> Callable[..., Any]:
    """Wrap an index or namespace admin function of mongoeco.engines.sqlite so that its invalidation of a
    collection's answers stays 4.11.0's full drop."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        given = kwargs.get("invalidate_collection_features_cache")
        engine = getattr(given, "__self__", None)
        if engine is not None:
            full = _full_collection(method)

            def invalidate(db_name: str | None = None, coll_name: str | None = None) -> None:
                if db_name is None or coll_name is None:
                    engine._invalidate_collection_features_cache()
                else:
                    full(engine, db_name, coll_name)

            kwargs["invalidate_collection_features_cache"] = invalidate
        return function(*args, **kwargs)

    setattr(wrapper, _MARK, True)
    return wrapper


def _stamped(method: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap SQLiteEngine._create_sqlite_connection: stamp each new connection with the write counter."""

    @functools.wraps(method)
    def wrapper(self: Any) -> Any:
        conn = method(self)
        state = _state(self)
        with state.lock:
            setattr(conn, _STAMP, state.counter)
        return conn

    setattr(wrapper, _MARK, True)
    return wrapper


def _recording(method: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap SQLiteEngine._begin_write: before the first write on the engine's connection (outside a transaction,
    so the TEMP objects are not rolled back with a write), create the TEMP table and triggers."""

    @functools.wraps(method)
    def wrapper(self: Any, conn: Any, context: Any) -> Any:
        if not getattr(conn, _TRIGGERS, False) and conn is self._connection and not conn.in_transaction:
            try:
                for ddl in _WRITTEN_DDL:
                    conn.execute(ddl)
                setattr(conn, _TRIGGERS, True)
            except sqlite3.Error:
                pass  # e.g. no `documents` table yet: answers are dropped on write, as in 4.11.0
        return method(self, conn, context)

    setattr(wrapper, _MARK, True)
    return wrapper


def _clear_on_commit(method: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap SQLiteSessionRuntime.commit_session_transaction: answers computed by readers while the transaction
    was open did not see its writes, so the commit clears all answers (its abort already does)."""

    @functools.wraps(method)
    def wrapper(self: Any, session: Any) -> Any:
        result = method(self, session)
        self._engine._invalidate_collection_features_cache()
        return result

    setattr(wrapper, _MARK, True)
    return wrapper


_ADMIN_FUNCTIONS = (
    "_sqlite_create_index",
    "_sqlite_drop_index",
    "_sqlite_drop_all_indexes",
    "_sqlite_rename_collection",
    "_sqlite_drop_collection",
)


def apply(version: str | None = None) -> str:
    """Apply the correction once; returns one line for the launcher's log saying what happened."""
    found = version if version is not None else installed_version()
    if found is None:
        return "mongoeco is not installed; nothing to correct"
    if found != PINNED:
        return f"mongoeco {found} is not {PINNED}: the feature-cache correction is not applied (check if still needed)"
    import mongoeco.engines.sqlite as sqlite_module
    from mongoeco.engines._sqlite_session_runtime import SQLiteSessionRuntime
    from mongoeco.engines.sqlite import SQLiteEngine

    if is_applied():
        return f"mongoeco {found}: feature answers already kept across writes"
    invalidate = SQLiteEngine._invalidate_collection_features_cache
    original_invalidate = inspect.unwrap(invalidate)
    for name in _FEATURES:
        method = getattr(SQLiteEngine, name)
        _ORIGINALS[name] = inspect.unwrap(method)
        if not getattr(method, _MARK, False):
            setattr(SQLiteEngine, name, _remember(name, method))
    for name in _ADMIN_FUNCTIONS:
        function = getattr(sqlite_module, name)
        if not getattr(function, _MARK, False):
            setattr(sqlite_module, name, _full_invalidation(function, original_invalidate))
    if not getattr(invalidate, _MARK, False):
        SQLiteEngine._invalidate_collection_features_cache = _incremental_invalidation(invalidate)  # type: ignore[method-assign]
    create = SQLiteEngine._create_sqlite_connection
    if not getattr(create, _MARK, False):
        SQLiteEngine._create_sqlite_connection = _stamped(create)  # type: ignore[method-assign]
    begin = SQLiteEngine._begin_write
    if not getattr(begin, _MARK, False):
        SQLiteEngine._begin_write = _recording(begin)  # type: ignore[method-assign]
    commit = SQLiteSessionRuntime.commit_session_transaction
    if not getattr(commit, _MARK, False):
        SQLiteSessionRuntime.commit_session_transaction = _clear_on_commit(commit)  # type: ignore[method-assign]
    return f"mongoeco {found}: SQLite feature answers kept across writes (updated from the written rows)"


def is_applied() -> bool:
    import mongoeco.engines.sqlite as sqlite_module
    from mongoeco.engines._sqlite_session_runtime import SQLiteSessionRuntime
    from mongoeco.engines.sqlite import SQLiteEngine

    return bool(
        all(getattr(getattr(SQLiteEngine, name), _MARK, False) for name in _FEATURES)
        and all(getattr(getattr(sqlite_module, name), _MARK, False) for name in _ADMIN_FUNCTIONS)
        and getattr(SQLiteEngine._invalidate_collection_features_cache, _MARK, False)
        and getattr(SQLiteEngine._create_sqlite_connection, _MARK, False)
        and getattr(SQLiteEngine._begin_write, _MARK, False)
        and getattr(SQLiteSessionRuntime.commit_session_transaction, _MARK, False)
    )
