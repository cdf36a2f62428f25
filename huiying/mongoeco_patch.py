"""A targeted correction to mongoeco 4.11.0, applied by the launcher (huiying/embedded.py) before it serves.

The defect: on every single-document write (insert_one, update, replace, find_one_and_update) mongoeco
checks the `_id` twice: once by its storage key (an indexed look-up, correct and cheap), and then again by
reading and decoding EVERY stored document of the collection, comparing BSON equality keys
(`scan_payload_id=True`; SQLite: `SQLiteEngine._validate_document_against_unique_indexes`, memory:
`MemoryEngine._ensure_unique_indexes`). The scan exists for numeric ids (1, 1.0 and Int64(1) are the same
`_id` in MongoDB but have different storage keys); mongoeco already runs it on its own whenever the id
contains a number. For any other id the storage-key check is exact, so the scan finds nothing new and
only makes each write cost O(documents in the collection). docs/mongoeco-insert-scan.md shows it.

The correction drops `scan_payload_id` when the id holds no number, so mongoeco's own rule
(`id_contains_numeric_value`) decides, exactly as it does for the other write paths.

A second, related cost on SQLite: a guarded single-document write (`update_one` / `find_one_and_update` /
`delete_one` whose filter is `{"_id": x, <more conditions>}`, every optimistic write and outbox settle here)
selects its document with a SQL scan of the whole collection (`json_extract` on every row), because
mongoeco's fast path only recognises a filter that is exactly `{"_id": x}`. The correction selects by the
`_id` (the same storage-key look-up mongoeco uses for `{"_id": x}`) and then checks the whole filter on that
one document with mongoeco's own matcher; a document that does not match is "no match", as before.

A third, on SQLite: every insert into a collection with a unique secondary index (intake's tracking codes)
asks "does any stored document hold an array in this field?" (`_field_is_top_level_array_in_collection`),
and answers it with a SQL scan of the collection, because the answer is cached only until the next write.
The answer can only turn from no to yes by a write, and every document write passes the unique-index
validation with the document it stores; so the correction keeps the answer per (collection, field) and
turns it to yes when a validated document holds an array there. A stale yes only means the slower path.

All are pinned to the version they were written against: on any other version nothing is changed and the
launcher logs one line saying so.
"""

from __future__ import annotations

import functools
from typing import Any

PINNED = "4.11.0"
_MARK = "_huiying_insert_scan_patched"


def installed_version() -> str | None:
    try:
        from mongoeco import __version__
    except ImportError:
        return None
    return str(__version__)


_ARRAYS = "_huiying_top_level_arrays"  # engine attribute: {(db, coll, field): bool}, only ever False -> True


def _note_arrays(engine: Any, db_name: str, coll_name: str, document: Any) -> None:
    known: dict[tuple[str, str, str], bool] | None = getattr(engine, _ARRAYS, None)
    if not known or not isinstance(document, dict):
        return
    for (db, coll, field), seen in known.items():
        if not seen and db == db_name and coll == coll_name and isinstance(document.get(field), list):
            known[(db, coll, field)] = True


def _sticky_top_level_array(method: Any) -> Any:
    @functools.wraps(method)
    def wrapper(self: Any, db_name: str, coll_name: str, field: str) -> bool:
        if "." in field:
            return bool(method(self, db_name, coll_name, field))
        known = self.__dict__.setdefault(_ARRAYS, {})
        key = (db_name, coll_name, field)
        if key not in known:
            known[key] = bool(method(self, db_name, coll_name, field))
        return bool(known[key])

    setattr(wrapper, _MARK, True)
    return wrapper


def _skip_needless_scan(method: Any, document_arg: int) -> Any:
    """Wrap `method` so a `scan_payload_id=True` is dropped when the document's `_id` has no number in it."""
    from mongoeco.core.identity import id_contains_numeric_value

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if len(args) > document_arg:
            _note_arrays(self, args[0], args[1], args[document_arg])
        if kwargs.get("scan_payload_id"):
            document = args[document_arg] if len(args) > document_arg else kwargs.get("document")
            if isinstance(document, dict) and "_id" in document and not id_contains_numeric_value(document["_id"]):
                kwargs["scan_payload_id"] = False
        return method(self, *args, **kwargs)

    setattr(wrapper, _MARK, True)
    return wrapper


def _select_by_id_first(method: Any) -> Any:
    """Wrap SQLiteEngine._select_first_document_for_plan: an AND filter with a plain `_id` equality is
    answered by the `_id` look-up plus mongoeco's matcher on that one document, instead of a collection scan."""
    from mongoeco.core.filtering import QueryEngine
    from mongoeco.core.identity import id_contains_numeric_value
    from mongoeco.core.query_plan import AndCondition, EqualsCondition

    @functools.wraps(method)
    def wrapper(self: Any, db_name: str, coll_name: str, plan: Any, *, hint: Any = None, context: Any = None) -> Any:
        if hint is None and isinstance(plan, AndCondition):
            by_id = next(
                (
                    c
                    for c in plan.clauses
                    if isinstance(c, EqualsCondition)
                    and c.field == "_id"
                    and isinstance(c.value, str)  # ids whose storage key is exact (no numeric aliases)
                    and not id_contains_numeric_value(c.value)
                ),
                None,
            )
            if by_id is not None:
                selected = method(self, db_name, coll_name, by_id, hint=None, context=context)
                if selected is None or not QueryEngine.match_plan(selected[1], plan):
                    return None
                return selected
        return method(self, db_name, coll_name, plan, hint=hint, context=context)

    setattr(wrapper, _MARK, True)
    return wrapper


def apply(version: str | None = None) -> str:
    """Apply the correction once; returns one line for the launcher's log saying what happened."""
    found = version if version is not None else installed_version()
    if found is None:
        return "mongoeco is not installed; nothing to correct"
    if found != PINNED:
        return f"mongoeco {found} is not {PINNED}: the insert-scan correction is not applied (check if still needed)"
    from mongoeco.engines.memory import MemoryEngine
    from mongoeco.engines.sqlite import SQLiteEngine

    # SQLite: (db_name, coll_name, document, *, exclude_storage_key, skip_id_check, scan_payload_id)
    # memory: (db_name, coll_name, candidate, *, ..., check_id_storage, scan_payload_id)
    targets = (
        (SQLiteEngine, "_validate_document_against_unique_indexes", 2),
        (MemoryEngine, "_ensure_unique_indexes", 2),
    )
    for cls, name, document_arg in targets:
        method = getattr(cls, name)
        if not getattr(method, _MARK, False):
            setattr(cls, name, _skip_needless_scan(method, document_arg))
    arrays = SQLiteEngine._field_is_top_level_array_in_collection
    if not getattr(arrays, _MARK, False):
        SQLiteEngine._field_is_top_level_array_in_collection = _sticky_top_level_array(arrays)  # type: ignore[method-assign]
    select = SQLiteEngine._select_first_document_for_plan
    if not getattr(select, _MARK, False):
        SQLiteEngine._select_first_document_for_plan = _select_by_id_first(select)  # type: ignore[method-assign]
    return (
        f"mongoeco {found}: corrections applied (writes no longer scan the collection to check an _id; "
        "guarded writes by _id select by _id; array checks kept between writes)"
    )


def is_applied() -> bool:
    from mongoeco.engines.memory import MemoryEngine
    from mongoeco.engines.sqlite import SQLiteEngine

    return bool(
        getattr(SQLiteEngine._validate_document_against_unique_indexes, _MARK, False)
        and getattr(MemoryEngine._ensure_unique_indexes, _MARK, False)
        and getattr(SQLiteEngine._select_first_document_for_plan, _MARK, False)
        and getattr(SQLiteEngine._field_is_top_level_array_in_collection, _MARK, False)
    )
