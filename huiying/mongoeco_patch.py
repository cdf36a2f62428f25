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

Three more, found by the soak (`huiying bench --spawn --soak 50000`, docs/mongoeco-insert-scan.md):

- memory: a filter holding a plain string `_id` whose document is not stored (notify's upsert that creates a
  request's document, a guarded write to a missing `_id`) falls back to matching every stored document; the
  storage key is exact for such an id, so there is no candidate.
- memory: the engine takes candidates from an index for equality only; a range (`due_at <= now`,
  `next_check_at <= now`, `outbox_due < now`) matched every document. With a single-field index on the
  field, the candidates are the index buckets whose key is in the range (the matcher still decides).
- SQLite: an update or find_one_and_update with a sort (notify's delivery claim, most overdue first) takes a
  Python fallback that reads and decodes every document; with a date range on a single-field index in the
  filter, the fallback is given only the documents in range, read through the index's scalar entries.

A fourth, on SQLite: an equality on an array field with a multikey index (routing's search `terms`) is an
EXISTS per document over the index's entries that names only its first two columns, so SQLite reads every
entry of the index for every document (O(documents x entries); 5 s for one word over 1,000 tasks on a loaded
machine). The correction names the entry's `type_score` too (a function of the `element_type` it already
names), and SQLite seeks the index on all its columns.

And a seventh, on SQLite (the soak on the merged stack): a look-up by a string `_id` that is not stored (notify's
upsert that creates a request's document, a guarded write to a missing `_id`) follows its storage-key miss with
a SQL scan of the collection (`json_extract(document, '$._id')` on every row, after one feature pass per decimal
type over every row); the storage key is exact for such an id, so a miss is the answer.

And an eighth, on SQLite (found filling the soak): every write of a document into a collection with a multikey index
(routing's tasks: `match_keys`, the search `terms`) first deletes the document's old entries with `DELETE FROM
multikey_entries WHERE collection_id = ? AND storage_key = ?`, and that table has no index starting with those
columns (its scalar twin, `scalar_index_entries`, has one: `idx_scalar_index_entries_storage`), so each insert and
each save of a task read every multikey entry of the database (4,000 tasks: ~90,000 entries, 74 ms per write and
growing). The correction creates the same index for `multikey_entries` when the engine opens its database.

`apply()` also applies the sibling modules, each with its own docstring, tests and page under docs/:
huiying/mongoeco_features.py (SQLite feature answers kept across writes), huiying/mongoeco_candidates.py (`$in`
and AND candidates on memory; sorted finds narrowed to their window's or their strings' rows on SQLite) and
huiying/mongoeco_shared_indexes.py (correction 9: one SQLite index per entry table).

All are pinned to the version they were written against: on any other version nothing is changed and the
launcher logs one line saying so.
"""

from __future__ import annotations

import functools
import operator
from datetime import datetime
from typing import Any

from huiying.mongoeco_version import PINNED, installed_version

_MARK = "_huiying_insert_scan_patched"


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


def exact_id_miss(engine: Any, db_name: str, coll_name: str, value: Any, context: Any) -> bool:
    """SQLite: True when `value` is a string `_id` without a number (its storage key is exact) that is not stored.
    4.11.0 follows such a miss with a compiled SQL scan of the collection (`json_extract(document, '$._id') = ?` on
    every row, after the per-collection feature passes for `_id`): correction 7."""
    from mongoeco.core.identity import id_contains_numeric_value

    if not isinstance(value, str) or id_contains_numeric_value(value):
        return False
    sql = "SELECT 1 FROM documents WHERE db_name = ? AND coll_name = ? AND storage_key = ?"
    conn = engine._require_connection(context)
    return conn.execute(sql, (db_name, coll_name, engine._storage_key(value))).fetchone() is None


def _select_by_id_first(method: Any) -> Any:
    """Wrap SQLiteEngine._select_first_document_for_plan: an AND filter with a plain `_id` equality is
    answered by the `_id` look-up plus mongoeco's matcher on that one document, instead of a collection scan."""
    from mongoeco.core.filtering import QueryEngine
    from mongoeco.core.identity import id_contains_numeric_value
    from mongoeco.core.query_plan import AndCondition, EqualsCondition

    @functools.wraps(method)
    def wrapper(self: Any, db_name: str, coll_name: str, plan: Any, *, hint: Any = None, context: Any = None) -> Any:
        if hint is None and isinstance(plan, EqualsCondition) and plan.field == "_id":
            if exact_id_miss(self, db_name, coll_name, plan.value, context):
                return None  # 4.11.0 goes on to scan the collection with json_extract (correction 7)
            return method(self, db_name, coll_name, plan, hint=hint, context=context)
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
                if exact_id_miss(self, db_name, coll_name, by_id.value, context):
                    return None
                selected = method(self, db_name, coll_name, by_id, hint=None, context=context)
                if selected is None or not QueryEngine.match_plan(selected[1], plan):
                    return None
                return selected
        return method(self, db_name, coll_name, plan, hint=hint, context=context)

    setattr(wrapper, _MARK, True)
    return wrapper


def _no_scan_after_id_miss(method: Any) -> Any:
    """Wrap MemoryEngine._candidate_items_for_plan_locked: a filter holding a plain string `_id` equality whose
    document is not stored has no candidate (its storage key is exact), instead of falling back to a scan of
    the whole collection (every upsert that creates its document, every guarded write to a missing `_id`)."""
    from mongoeco.core.identity import id_contains_numeric_value

    @functools.wraps(method)
    def wrapper(self: Any, coll: Any, query_plan: Any, **kwargs: Any) -> Any:
        lookup = self._direct_id_lookup_from_plan(query_plan)
        if isinstance(lookup, str) and not id_contains_numeric_value(lookup) and self._storage_key(lookup) not in coll:
            return []
        return method(self, coll, query_plan, **kwargs)

    setattr(wrapper, _MARK, True)
    return wrapper


_OP_SQL = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
_RANGES = {"$gt": operator.gt, "$gte": operator.ge, "$lt": operator.lt, "$lte": operator.le}


def _in_range(test: Any, key: tuple[Any, ...], bound: tuple[Any, ...]) -> bool:
    try:
        return bool(test(key, bound))
    except TypeError:
        return True  # e.g. NaN or an infinity among numbers: keep it, the matcher decides


def _range_clause(plan: Any) -> tuple[str, str, Any] | None:
    """(field, operator, value) of the first top-level range condition on a date or a number, or None."""
    from mongoeco.core.bson_scalars import is_bson_numeric
    from mongoeco.core.query_plan import (
        AndCondition,
        GreaterThanCondition,
        GreaterThanOrEqualCondition,
        LessThanCondition,
        LessThanOrEqualCondition,
    )

    operators = {
        GreaterThanCondition: "$gt",
        GreaterThanOrEqualCondition: "$gte",
        LessThanCondition: "$lt",
        LessThanOrEqualCondition: "$lte",
    }
    for clause in plan.clauses if isinstance(plan, AndCondition) else (plan,):
        op = operators.get(type(clause))
        value = getattr(clause, "value", None)
        # Over the wire a number arrives wrapped in mongoeco's BSON numeric types (Int64, ...), hence is_bson_numeric.
        if op and (isinstance(value, datetime) or is_bson_numeric(value)) and not isinstance(value, bool):
            return str(getattr(clause, "field", "")), op, value
    return None


def _range_from_index(method: Any) -> Any:
    """Wrap MemoryEngine._indexed_candidate_storage_keys_for_plan_locked: when no equality index applies, a
    range condition (`$lt`/`$lte`/`$gt`/`$gte` on a date or a number) on a field with a single-field index
    takes its candidates from the index buckets whose key is in the range (one comparison per distinct value),
    instead of none (a scan of every document). Only a superset is needed: the caller still matches each
    candidate against the whole filter. Keys of another type never match a date or number range in MongoDB."""
    from mongoeco.core.bson_ordering import bson_equality_key
    from mongoeco.engines.memory import _MemoryIndexedCandidates
    from mongoeco.engines.virtual_indexes import query_can_use_index

    @functools.wraps(method)
    def wrapper(self: Any, indexes: Any, index_data: Any, query_plan: Any, *, dialect: Any, collation: Any) -> Any:
        found = method(self, indexes, index_data, query_plan, dialect=dialect, collation=collation)
        if found is not None or collation is not None:
            return found
        clause = _range_clause(query_plan)
        if clause is None:
            return None
        field, op, value = clause
        bound = bson_equality_key(value)
        test = _RANGES[op]
        for index in indexes:
            if [f for f, _ in index["key"]] != [field]:
                continue
            if not query_can_use_index(index, query_plan, dialect=dialect, collation=collation):
                continue
            index_map = index_data.get(index["name"])
            if index_map is None:
                continue
            keys: set[Any] = set()
            for key in list(index_map):
                k = key[0] if isinstance(key, tuple) and len(key) == 1 else None
                if isinstance(k, tuple) and k and k[0] == bound[0] and _in_range(test, k[1:], bound[1:]):
                    keys.update(index_map[key])
            return _MemoryIndexedCandidates(keys)
        return None

    setattr(wrapper, _MARK, True)
    return wrapper


def _date_range_candidates(engine: Any, db_name: str, coll_name: str, plan: Any) -> Any:
    """A `load_documents` replacement reading only the documents whose indexed date is in the plan's range (the
    index's scalar entries hold dates as ISO strings, which sort as the dates do), or None when the plan has
    no such range or the field cannot be answered from the scalar entries (arrays, dotted paths)."""
    clause = _range_clause(plan)
    if clause is None or not isinstance(clause[2], datetime) or "." in clause[0] or clause[0] == "_id":
        return None
    field, op, value = clause
    signature = engine._multikey_value_signature(value)
    if signature is None or signature[0] != "datetime":
        return None
    if engine._field_is_top_level_array_in_collection(db_name, coll_name, field):
        return None
    index = next(
        (
            i
            for i in engine._load_indexes(db_name, coll_name)
            if i["key"] == [(field, 1)]
            and i.get("scalar_physical_name")
            and not i.get("partial_filter_expression")
            and not i.get("hidden")
        ),
        None,
    )
    if index is None:
        return None
    sql = (
        "SELECT documents.storage_key, documents.document "
        f"FROM scalar_index_entries INDEXED BY {engine._quote_identifier(index['scalar_physical_name'])} "
        "JOIN documents ON documents.db_name = ? AND documents.coll_name = ? "
        "AND documents.storage_key = scalar_index_entries.storage_key "
        "WHERE scalar_index_entries.collection_id = ? AND scalar_index_entries.index_name = ? "
        f"AND scalar_index_entries.type_score = ? AND scalar_index_entries.element_key {_OP_SQL[op]} ?"
    )

    def load(db: str, coll: str) -> Any:
        conn = engine._require_connection()
        collection_id = engine._lookup_collection_id(conn, db, coll)
        if collection_id is None:
            return
        score = engine._multikey_type_score("datetime")
        for storage_key, document in conn.execute(sql, (db, coll, collection_id, index["name"], score, signature[1])):
            yield storage_key, engine._deserialize_document(document)

    return load


def _sorted_update_by_date_range(function: Any) -> Any:
    """Wrap mongoeco.engines.sqlite's update helper: an update or find_one_and_update with a sort (notify's
    delivery claim: `due_at <= now`, most overdue first) takes 4.11.0's Python fallback, which reads and decodes
    every document of the collection. When the filter holds a date range on a single-field index, the fallback
    is given only the documents in that range (read through the index); it still matches the whole filter and
    sorts, so the answer is the same."""

    @functools.wraps(function)
    def wrapper(**kwargs: Any) -> Any:
        semantics = kwargs.get("prepared_semantics")
        engine = getattr(kwargs.get("load_documents"), "__self__", None)
        if semantics is not None and engine is not None and getattr(semantics, "sort", None):
            if getattr(semantics, "collation", None) is None:
                narrowed = _date_range_candidates(engine, kwargs["db_name"], kwargs["coll_name"], semantics.query_plan)
                if narrowed is not None:
                    kwargs["load_documents"] = narrowed
        return function(**kwargs)

    setattr(wrapper, _MARK, True)
    return wrapper


def _multikey_seek(method: Any) -> Any:
    """Replace SQLiteEngine._translate_multikey_exists_clause: the same EXISTS per value, also naming the
    entry's `type_score` (a function of its `element_type`, stored beside it), so SQLite seeks the multikey
    index on all its columns (collection, index, type_score, element_key, storage_key) instead of reading every
    entry of the index for every document: an equality on an array field (routing's search `terms`) costs
    O(documents x log entries) rather than O(documents x entries)."""

    @functools.wraps(method)
    def wrapper(
        self: Any, collection_id: int, db_name: str, coll_name: str, index: Any, signatures: Any
    ) -> tuple[str, list[object]]:
        physical_name = self._quote_identifier(str(index["multikey_physical_name"]))
        clauses: list[str] = []
        params: list[object] = []
        for element_type, element_key in signatures:
            clauses.append(
                "EXISTS ("
                f"SELECT 1 FROM multikey_entries INDEXED BY {physical_name} "
                "WHERE collection_id = ? AND index_name = ? AND type_score = ? AND element_key = ? "
                "AND storage_key = documents.storage_key AND element_type = ?)"
            )
            params.extend(
                [collection_id, index["name"], self._multikey_type_score(element_type), element_key, element_type]
            )
        return "(" + " OR ".join(clauses) + ")", params

    setattr(wrapper, _MARK, True)
    return wrapper


MULTIKEY_STORAGE_INDEX = "huiying_multikey_entries_storage"


def _multikey_storage_index(method: Any) -> Any:
    """Wrap SQLiteEngine._backfill_scalar_indexes_sync, which runs once while the engine opens its database (on the
    connection being set up, before its commit): also create the `(collection_id, storage_key)` index of
    `multikey_entries` that 4.11.0 gives `scalar_index_entries` only (correction 8)."""

    @functools.wraps(method)
    def wrapper(self: Any, connection: Any, *args: Any, **kwargs: Any) -> Any:
        result = method(self, connection, *args, **kwargs)
        connection.execute(
            f"CREATE INDEX IF NOT EXISTS {MULTIKEY_STORAGE_INDEX} ON multikey_entries (collection_id, storage_key)"
        )
        return result

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
    candidates = MemoryEngine._candidate_items_for_plan_locked
    if not getattr(candidates, _MARK, False):
        MemoryEngine._candidate_items_for_plan_locked = _no_scan_after_id_miss(candidates)  # type: ignore[method-assign]
    ranged = MemoryEngine._indexed_candidate_storage_keys_for_plan_locked
    if not getattr(ranged, _MARK, False):
        MemoryEngine._indexed_candidate_storage_keys_for_plan_locked = _range_from_index(ranged)  # type: ignore[method-assign]
    import mongoeco.engines.sqlite as sqlite_module

    sorted_update = sqlite_module._sqlite_update_with_operation
    if not getattr(sorted_update, _MARK, False):
        sqlite_module._sqlite_update_with_operation = _sorted_update_by_date_range(sorted_update)  # type: ignore[attr-defined]
    multikey = SQLiteEngine._translate_multikey_exists_clause
    if not getattr(multikey, _MARK, False):
        SQLiteEngine._translate_multikey_exists_clause = _multikey_seek(multikey)  # type: ignore[method-assign]
    backfill = SQLiteEngine._backfill_scalar_indexes_sync
    if not getattr(backfill, _MARK, False):
        SQLiteEngine._backfill_scalar_indexes_sync = _multikey_storage_index(backfill)  # type: ignore[method-assign]
    from huiying import mongoeco_candidates, mongoeco_features, mongoeco_shared_indexes

    mongoeco_features.apply(found)
    mongoeco_candidates.apply(found)
    mongoeco_shared_indexes.apply(found)
    return (
        f"mongoeco {found}: corrections applied (writes no longer scan the collection to check an _id; "
        "guarded writes by _id select by _id; array checks kept between writes; no scan after an _id miss; "
        "date and number ranges read through a single-field index; array equality seeks its index; "
        "no scan after a string _id miss on SQLite; multikey entries deleted through an index; "
        "feature answers kept across writes on SQLite; $in and AND filters take the smallest index candidates "
        "on memory; sorted date-range finds read through their index on SQLite; one SQLite index per entry table)"
    )


def is_applied() -> bool:
    import mongoeco.engines.sqlite as sqlite_module
    from mongoeco.engines.memory import MemoryEngine
    from mongoeco.engines.sqlite import SQLiteEngine

    from huiying import mongoeco_candidates, mongoeco_features, mongoeco_shared_indexes

    return bool(
        getattr(SQLiteEngine._validate_document_against_unique_indexes, _MARK, False)
        and getattr(MemoryEngine._ensure_unique_indexes, _MARK, False)
        and getattr(SQLiteEngine._select_first_document_for_plan, _MARK, False)
        and getattr(SQLiteEngine._field_is_top_level_array_in_collection, _MARK, False)
        and getattr(MemoryEngine._candidate_items_for_plan_locked, _MARK, False)
        and getattr(MemoryEngine._indexed_candidate_storage_keys_for_plan_locked, _MARK, False)
        and getattr(sqlite_module._sqlite_update_with_operation, _MARK, False)
        and getattr(SQLiteEngine._translate_multikey_exists_clause, _MARK, False)
        and getattr(SQLiteEngine._backfill_scalar_indexes_sync, _MARK, False)
        and mongoeco_features.is_applied()
        and mongoeco_candidates.is_applied()
        and mongoeco_shared_indexes.is_applied()
    )
