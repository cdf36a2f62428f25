"""Candidate corrections to mongoeco 4.11.0: `$in` and AND filters read through the smallest index candidates.

A sibling of huiying/mongoeco_patch.py (corrections 1-7), applied after it by the launcher; same rules: pinned
to the version it was written against, a superset of candidates only (mongoeco's matcher still decides every
document), and anything unusual (collations, sparse or partial indexes, regexes or null in an `$in`) is left
to mongoeco as released. docs/mongoeco-candidates.md shows the defects and the figures.

A. Memory engine, `$in`. 4.11.0 takes candidates from a single-field index for an equality only, and from the
   first usable equality of an AND even when another condition would give far fewer. An `$in`
   (`{"status": {"$in": [...]}}`, routing's 并单 look-up `{"match_keys": {"$in": [place, resident]}, ...}` on a
   multikey array field) got none, so the query matched every document (with correction 5, every document of
   its range). The correction gives an `$in` on a field with a plain single-field index the union of the
   index buckets of its values (exactly the buckets mongoeco itself uses for an equality on each value), and
   an AND the SMALLEST of its usable candidate sets: each equality's bucket, each `$in`'s union (sized by the
   sum of its buckets before it is built), and each date or number range (correction 5, which compares every
   distinct key of its index, so it is computed only when the other candidates are not already small).

B. SQLite engine, a date range inside a sorted find compiled to SQL. An AND filter (routing's 并单 look-up
   `{"match_keys": {"$in": [...]}, "submitted_at": {"$gte": since}}`) compiles to one SQL statement whose range
   condition is `json_extract` on every row of the collection (the sorted form walks the `submitted_at` index
   to its end whenever fewer than `limit` rows match), so its cost grows with the collection. The correction
   adds, to the translation of a date range on a top-level field with a plain single-field index, the rows of
   that index in range: `documents.storage_key IN (SELECT storage_key FROM scalar_index_entries INDEXED BY ...
   WHERE ... type_score = <datetime> AND element_key >= ?)`, ANDed with mongoeco's own condition (so it stays
   exact wherever the condition sits), and asks 4.11.0's pre-sort check ("does a matching row hold an array in
   the sort field?", a second pass over every row) of those rows only. Unsorted finds keep their plans (their
   row order is SQLite's plan order, which the narrowing would change). The index's scalar entries hold every
   stored date of a field that is never an array as its ISO string, which sorts as the dates do (the same
   reading as correction 6).
   When the same filter holds an equality or an `$in` of plain strings on a field with a plain single-field
   index (the look-up's `match_keys`), those strings' rows are the other candidate set: the field's multikey
   entries (an array's elements) and scalar entries (a plain value) with those strings. The SMALLER set is used,
   both counted through the indexes up to a growing cap. A window holds every request of its days (4,320 in 90
   days at the soak's rate), a key only its place's or resident's requests; a burst of one matter at one place
   is the other way round.

Not corrected (docs/mongoeco-candidates.md): on SQLite a number range whose bound or stored values are 64-bit
integers (the outbox sweeper's `outbox_due`, epoch ms): 4.11.0 does not index Int64 values in its scalar
entries at all, so no index read can answer that range without a reindex.
"""

from __future__ import annotations

import contextvars
import functools
import re
from datetime import datetime
from typing import Any

from huiying.mongoeco_version import PINNED, installed_version  # one pin for every correction

_MARK = "_huiying_candidates_patched"
_OP_SQL = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
# The range's candidates cost one comparison per distinct key of its index, roughly 1/32 of matching a document:
# when an equality or `$in` already gives fewer candidates than that, the range is not computed.
_RANGE_KEYS_PER_DOCUMENT = 32
# SQLite: the narrowing is used while a SORTED find builds its SELECT only. Without a sort, the order of the rows
# is SQLite's plan order, which the narrowing would change (and with it which document an unsorted
# find_one_and_update takes); mongoeco's own plans are kept there.
_SORTED_SELECT: contextvars.ContextVar[bool] = contextvars.ContextVar("_huiying_sorted_select", default=False)
# SQLite: the narrowing compares its two candidate sets by counting index entries up to each cap in turn.
_COUNT_CAPS = (32, 256, 2048)


def _plain_single_field_index(indexes: Any, field: str) -> Any:
    """The first usable plain (not sparse, not partial, not hidden, no collation) ascending index on `field`."""
    from mongoeco.engines.virtual_indexes import (
        _index_collation,
        _index_hidden,
        _index_partial_filter_expression,
        _index_sparse,
    )

    for index in indexes:
        if [tuple(k) for k in index["key"]] != [(field, 1)]:
            continue
        if _index_sparse(index) or _index_partial_filter_expression(index) is not None or _index_hidden(index):
            continue
        if _index_collation(index) is not None:
            continue
        return index
    return None


def _in_value_is_plain(value: Any) -> bool:
    """Values whose `$in` membership is their BSON equality (what the index buckets key): strings, numbers,
    booleans, dates. Null (matches missing fields), regexes (match strings), arrays and documents are left out."""
    from mongoeco.core.bson_scalars import is_bson_numeric

    if value is None or isinstance(value, re.Pattern):
        return False
    return isinstance(value, (str, bool, int, float, datetime)) or is_bson_numeric(value)


def _in_buckets(engine: Any, indexes: Any, index_data: Any, node: Any) -> list[Any] | None:
    """The index buckets of an `$in`'s values (one per value; missing ones empty), or None when not usable."""
    from mongoeco.core.query_plan import InCondition

    if not isinstance(node, InCondition) or node.null_matches_undefined or not node.values:
        return None
    if not all(_in_value_is_plain(v) for v in node.values):
        return None
    index = _plain_single_field_index(indexes, node.field)
    if index is None:
        return None
    index_map = index_data.get(index["name"])
    if index_map is None:
        return None
    empty: frozenset[Any] = frozenset()
    return [index_map.get((engine._index_equality_key(v),), empty) for v in node.values]


def _range_index_keys(indexes: Any, index_data: Any, node: Any) -> int | None:
    """How many distinct keys correction 5 would compare for this range clause (None: not a usable range)."""
    from mongoeco.core.bson_scalars import is_bson_numeric
    from mongoeco.core.query_plan import (
        GreaterThanCondition,
        GreaterThanOrEqualCondition,
        LessThanCondition,
        LessThanOrEqualCondition,
    )

    ranges = (GreaterThanCondition, GreaterThanOrEqualCondition, LessThanCondition, LessThanOrEqualCondition)
    if not isinstance(node, ranges):
        return None
    value = node.value
    if isinstance(value, bool) or not (isinstance(value, datetime) or is_bson_numeric(value)):
        return None
    index = next((i for i in indexes if [tuple(k) for k in i["key"]] == [(node.field, 1)]), None)
    if index is None or index_data.get(index["name"]) is None:
        return None
    return len(index_data[index["name"]])


def _smallest_candidates(method: Any) -> Any:
    """Wrap MemoryEngine._indexed_candidate_storage_keys_for_plan_locked (correction A)."""
    from mongoeco.core.query_plan import AndCondition, EqualsCondition, InCondition
    from mongoeco.engines.memory import _MemoryIndexedCandidates

    @functools.wraps(method)
    def wrapper(self: Any, indexes: Any, index_data: Any, query_plan: Any, *, dialect: Any, collation: Any) -> Any:
        if collation is not None:
            return method(self, indexes, index_data, query_plan, dialect=dialect, collation=collation)
        if isinstance(query_plan, InCondition):
            buckets = _in_buckets(self, indexes, index_data, query_plan)
            if buckets is not None:
                return _MemoryIndexedCandidates(set().union(*buckets))
            return method(self, indexes, index_data, query_plan, dialect=dialect, collation=collation)
        if not isinstance(query_plan, AndCondition):
            return method(self, indexes, index_data, query_plan, dialect=dialect, collation=collation)
        # Each usable equality or `$in`, sized without building it.
        best: tuple[int, Any] | None = None
        ranges: list[tuple[int, Any]] = []
        for clause in query_plan.clauses:
            option: tuple[int, Any] | None = None
            if isinstance(clause, InCondition):
                buckets = _in_buckets(self, indexes, index_data, clause)
                if buckets is not None:
                    option = (sum(len(b) for b in buckets), buckets)
            elif isinstance(clause, EqualsCondition):
                found = method(self, indexes, index_data, clause, dialect=dialect, collation=collation)
                if found is not None:
                    option = (len(found.storage_keys), found)
            else:
                keys = _range_index_keys(indexes, index_data, clause)
                if keys is not None:
                    ranges.append((keys, clause))
            if option is not None and (best is None or option[0] < best[0]):
                best = option
        # A range (correction 5, through the class's method so that it is found in either order of wrapping),
        # when it may be smaller and is worth its comparisons.
        for keys, clause in ranges:
            if best is not None and best[0] * _RANGE_KEYS_PER_DOCUMENT <= keys:
                continue
            cls_method = type(self)._indexed_candidate_storage_keys_for_plan_locked
            found = cls_method(self, indexes, index_data, clause, dialect=dialect, collation=collation)
            if found is not None and (best is None or len(found.storage_keys) < best[0]):
                best = (len(found.storage_keys), found)
        if best is None:
            return method(self, indexes, index_data, query_plan, dialect=dialect, collation=collation)
        chosen = best[1]
        if isinstance(chosen, list):
            return _MemoryIndexedCandidates(set().union(*chosen))
        return chosen

    setattr(wrapper, _MARK, True)
    return wrapper


def _date_range_clause(plan: Any) -> tuple[str, str, datetime] | None:
    from mongoeco.core.query_plan import (
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
    op = operators.get(type(plan))
    value = getattr(plan, "value", None)
    if op is None or not isinstance(value, datetime):
        return None
    return str(plan.field), op, value


def _date_range_rows(engine: Any, db_name: str, coll_name: str, plan: Any) -> tuple[str, list[object]] | None:
    """A SELECT of the storage keys of a plain single-field index whose date is in the range `plan` (a date range
    on a top-level field that is never an array in the collection), or None."""
    clause = _date_range_clause(plan)
    if clause is None:
        return None
    field, op, value = clause
    if "." in field or field == "_id":
        return None
    signature = engine._multikey_value_signature(value)
    if signature is None or signature[0] != "datetime":
        return None
    index = _plain_single_field_index(engine._load_indexes(db_name, coll_name), field)
    if index is None or not index.get("scalar_physical_name"):
        return None
    if engine._field_is_top_level_array_in_collection(db_name, coll_name, field):
        return None
    collection_id = engine._lookup_collection_id(engine._require_connection(), db_name, coll_name)
    if collection_id is None:
        return None
    sql = (
        "SELECT storage_key FROM scalar_index_entries "
        f"INDEXED BY {engine._quote_identifier(str(index['scalar_physical_name']))} "
        "WHERE collection_id = ? AND index_name = ? AND type_score = ? "
        f"AND element_key {_OP_SQL[op]} ?"
    )
    return sql, [collection_id, index["name"], engine._multikey_type_score("datetime"), signature[1]]


def _string_match_rows(engine: Any, db_name: str, coll_name: str, plan: Any) -> tuple[str, list[object]] | None:
    """A SELECT of the storage keys of the rows whose indexed value at a top-level field is one of the plan's
    strings (an equality or an `$in` of plain strings on a plain single-field index), or None. An array's elements
    are its multikey entries and a scalar value is its scalar entry (mongoeco writes one or the other), so the
    union holds every row that can match: a superset, the filter still applies."""
    from mongoeco.core.query_plan import EqualsCondition, InCondition

    if isinstance(plan, InCondition) and not plan.null_matches_undefined:
        values = list(plan.values)
    elif isinstance(plan, EqualsCondition) and not plan.null_matches_undefined:
        values = [plan.value]
    else:
        return None
    field = str(plan.field)
    if not values or "." in field or field == "_id" or not all(type(v) is str for v in values):
        return None
    index = _plain_single_field_index(engine._load_indexes(db_name, coll_name), field)
    if index is None or not index.get("multikey") or not index.get("scalar_physical_name"):
        return None
    collection_id = engine._lookup_collection_id(engine._require_connection(), db_name, coll_name)
    if collection_id is None:
        return None
    marks = ", ".join("?" for _ in values)
    where = f"WHERE collection_id = ? AND index_name = ? AND type_score = ? AND element_key IN ({marks})"
    multikey = engine._quote_identifier(str(index["multikey_physical_name"]))
    scalar = engine._quote_identifier(str(index["scalar_physical_name"]))
    sql = (
        f"SELECT storage_key FROM multikey_entries INDEXED BY {multikey} {where} UNION ALL "
        f"SELECT storage_key FROM scalar_index_entries INDEXED BY {scalar} {where}"
    )
    each = [collection_id, index["name"], engine._multikey_type_score("string"), *values]
    return sql, [*each, *each]


def _count_upto(engine: Any, rows: tuple[str, list[object]], cap: int) -> int:
    """How many storage keys a narrowing names, counted through its index only and stopped at `cap`."""
    sql = f"SELECT count(*) FROM ({rows[0]} LIMIT {int(cap)})"
    return int(engine._require_connection().execute(sql, rows[1]).fetchone()[0])


def _narrowing(engine: Any, db_name: str, coll_name: str, plan: Any) -> tuple[str, list[object]] | None:
    """`documents.storage_key IN (...)` for a sorted find's filter, or None: the SMALLER of its strings' rows (a
    key's history: a unit's or a resident's requests) and its date range's rows (the window: every request of the
    last days), counted through the indexes up to a growing cap (32, 256, 2,048 entries; past that, the strings').
    A real desk's keys hold far fewer rows than its window; a burst of one matter at one place is the other way."""
    from mongoeco.core.query_plan import AndCondition

    clauses = plan.clauses if isinstance(plan, AndCondition) else (plan,)
    strings = next((r for r in (_string_match_rows(engine, db_name, coll_name, c) for c in clauses) if r), None)
    window = next((r for r in (_date_range_rows(engine, db_name, coll_name, c) for c in clauses) if r), None)
    chosen = strings or window
    if strings is not None and window is not None:
        for cap in _COUNT_CAPS:  # both counted to a growing cap, so the cost follows the smaller of the two
            n_strings, n_window = _count_upto(engine, strings, cap), _count_upto(engine, window, cap)
            if n_strings < cap or n_window < cap:
                chosen = window if n_window < n_strings else strings
                break
    if chosen is None:
        return None
    return f"documents.storage_key IN ({chosen[0]})", chosen[1]


def _date_range_through_index(method: Any) -> Any:
    """Wrap SQLiteEngine._translate_query_plan_with_multikey (correction B): while a sorted find builds its SELECT,
    the whole filter is ANDed with the rows it narrows to (`_narrowing`); the clauses inside keep mongoeco's own
    translation, so the condition stays exact."""

    @functools.wraps(method)
    def wrapper(self: Any, db_name: str, coll_name: str, plan: Any) -> tuple[str, list[object]]:
        if not _SORTED_SELECT.get():
            return method(self, db_name, coll_name, plan)
        token = _SORTED_SELECT.set(False)  # the clauses inside: mongoeco's own translation
        try:
            sql, params = method(self, db_name, coll_name, plan)
        finally:
            _SORTED_SELECT.reset(token)
        rows = _narrowing(self, db_name, coll_name, plan)
        if rows is None:
            return sql, params
        return f"{rows[0]} AND ({sql})", [*rows[1], *params]

    setattr(wrapper, _MARK, True)
    return wrapper


def _sorted_select(method: Any) -> Any:
    """Wrap SQLiteEngine._build_select_sql: a sorted find's SELECT is built with the narrowing on."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not kwargs.get("sort"):
            return method(self, *args, **kwargs)
        token = _SORTED_SELECT.set(True)
        try:
            return method(self, *args, **kwargs)
        finally:
            _SORTED_SELECT.reset(token)

    setattr(wrapper, _MARK, True)
    return wrapper


def _narrowed_sort_check(method: Any) -> Any:
    """Replace SQLiteEngine._sort_requires_python (correction B, sorted finds): before a sorted find, 4.11.0 asks
    SQL whether any document matching the filter holds an array or a tagged number in a sort field, with the
    filter translated as `json_extract` over every row. When the filter narrows (`_narrowing`: a date range or
    strings on a plain single-field index), the same question is asked of those rows (the filter still applies)."""
    import mongoeco.engines.sqlite as sqlite_module

    @functools.wraps(method)
    def wrapper(self: Any, db_name: str, coll_name: str, plan: Any, sort: Any) -> bool:
        rows = _narrowing(self, db_name, coll_name, plan) if sort else None
        if rows is None:
            return bool(method(self, db_name, coll_name, plan, sort))

        def translate(node: Any) -> tuple[str, list[object]]:
            sql, params = sqlite_module.translate_query_plan(node)
            return f"{rows[0]} AND ({sql})", [*rows[1], *params]

        return bool(
            sqlite_module._sqlite_sort_requires_python(  # type: ignore[attr-defined]
                db_name=db_name,
                coll_name=coll_name,
                plan=plan,
                sort=sort,
                plan_has_array_traversing_paths=self._plan_has_array_traversing_paths,
                translate_query_plan=translate,
                field_traverses_array_in_collection=self._field_traverses_array_in_collection,
                field_contains_tagged_bytes_in_collection=self._field_contains_tagged_bytes_in_collection,
                field_contains_tagged_undefined_in_collection=self._field_contains_tagged_undefined_in_collection,
                fetchone=lambda sql, params: self._require_connection().execute(sql, params).fetchone(),
                type_expression_sql=sqlite_module.type_expression_sql,
                json_path_for_field=sqlite_module.json_path_for_field,
            )
        )

    setattr(wrapper, _MARK, True)
    return wrapper


def apply(version: str | None = None) -> str:
    """Apply the corrections once; returns one line for the launcher's log saying what happened."""
    found = version if version is not None else installed_version()
    if found is None:
        return "mongoeco is not installed; no candidate correction"
    if found != PINNED:
        return f"mongoeco {found} is not {PINNED}: the candidate corrections are not applied (check if still needed)"
    from mongoeco.engines.memory import MemoryEngine
    from mongoeco.engines.sqlite import SQLiteEngine

    candidates = MemoryEngine._indexed_candidate_storage_keys_for_plan_locked
    if not getattr(candidates, _MARK, False):
        MemoryEngine._indexed_candidate_storage_keys_for_plan_locked = _smallest_candidates(candidates)  # type: ignore[method-assign]
    translate = SQLiteEngine._translate_query_plan_with_multikey
    if not getattr(translate, _MARK, False):
        SQLiteEngine._translate_query_plan_with_multikey = _date_range_through_index(translate)  # type: ignore[method-assign]
    select = SQLiteEngine._build_select_sql
    if not getattr(select, _MARK, False):
        SQLiteEngine._build_select_sql = _sorted_select(select)  # type: ignore[method-assign]
    sort_check = SQLiteEngine._sort_requires_python
    if not getattr(sort_check, _MARK, False):
        SQLiteEngine._sort_requires_python = _narrowed_sort_check(sort_check)  # type: ignore[method-assign]
    return (
        f"mongoeco {found}: candidate corrections applied ($in and AND filters take the smallest index candidates "
        "on the memory engine; date ranges in SQL filters read through their single-field index on SQLite)"
    )


def is_applied() -> bool:
    from mongoeco.engines.memory import MemoryEngine
    from mongoeco.engines.sqlite import SQLiteEngine

    return bool(
        getattr(MemoryEngine._indexed_candidate_storage_keys_for_plan_locked, _MARK, False)
        and getattr(SQLiteEngine._translate_query_plan_with_multikey, _MARK, False)
        and getattr(SQLiteEngine._sort_requires_python, _MARK, False)
        and getattr(SQLiteEngine._build_select_sql, _MARK, False)
    )
