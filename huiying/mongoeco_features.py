"""Two more corrections to mongoeco 4.11.0's SQLite engine, found by the soak (huiying/mongoeco_patch.py applies
them; docs/mongoeco-insert-scan.md, corrections 7 and 8, shows them).

7. Per-collection feature answers kept across writes. Before it plans a query, the SQLite engine asks questions
   about the whole collection ("does any document hold an array / a float / a tagged decimal / a non-ASCII
   string at this field?", "are all values of this field numbers?"), each one SQL pass over every row of the
   collection, and caches the answers only until the next write: every insert or update clears them
   (`SQLiteEngine._invalidate_collection_features_cache(db, coll)`). So with a steady trickle of writes, nearly
   every query and guarded write paid for three to six passes over the collection (a guarded update by `_id` at
   3,000 documents: ~100k SQLite instructions, growing with the collection).

   Each answer is about the stored documents only, and every document a write stores passes
   `_validate_document_against_unique_indexes` first (the hook huiying/mongoeco_patch.py already wraps). So the
   correction notes each validated document; when the write then asks to clear the collection's answers, it
   updates them from the noted documents instead, with the same test each SQL pass makes, applied to that one
   document as the engine encodes it (`DocumentCodec.encode`, then the JSON path the SQL would read):

   - "does any document ..." (arrays, floats, tagged types, non-ASCII text, type mismatches): a yes stays yes (a
     stale yes only sends mongoeco down its slower, general path, as the SQL would after any such write); a no
     turns to yes when the written document has it;
   - "are all values numbers / strings / booleans": stays when the written document's value is of that type,
     and turns to no when it is not; a "no" is asked again (dropped) when the written value could make it yes;
   - an answer of a kind this code does not know is dropped, as mongoeco does.

   A clear with nothing noted (a delete, an index or namespace change, a rollback, the whole cache) clears as
   before.

8. A look-up by a string `_id` that is not stored (`{"_id": new}`: notify's upsert that creates a request's
   document, a guarded write to a missing `_id`) falls back, after its storage-key look-up found nothing, to a
   compiled SQL scan of the collection (`json_extract(document, '$._id') = ?` on every row, plus the feature
   passes for `_id`). For a string without a number the storage key is exact, so nothing found is the answer.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

_MARK = "_huiying_insert_scan_patched"
_NOTED = "_huiying_noted_documents"  # engine attribute: {(db, coll): [document, ...]} validated, not yet applied
_MISSING = object()
_LOCK = threading.Lock()


def note_document(engine: Any, db_name: str, coll_name: str, document: Any) -> None:
    """Called for each document a write validates (before it stores it)."""
    if isinstance(document, dict):
        with _LOCK:
            engine.__dict__.setdefault(_NOTED, {}).setdefault((db_name, coll_name), []).append(document)


def _json_at(encoded: Any, parts: list[str]) -> Any:
    """The value SQLite's JSON path `$.a.b[0]` (json_path_for_field) reads in the encoded document, or _MISSING."""
    current = encoded
    for part in parts:
        if part.isdigit():
            if not isinstance(current, list) or int(part) >= len(current):
                return _MISSING
            current = current[int(part)]
        else:
            if not isinstance(current, dict) or part not in current:
                return _MISSING
            current = current[part]
    return current


def _json_type(value: Any) -> str | None:
    """SQLite's json_type of a value of the encoded document (None: SQL NULL, the path is absent)."""
    if value is _MISSING:
        return None
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "real"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "array"
    return "object"


def _tagged_type(value: Any) -> Any:
    from mongoeco.core.codec import DocumentCodec

    if isinstance(value, dict):
        marker = value.get(DocumentCodec._MARKER)
        if isinstance(marker, dict):
            return marker.get(DocumentCodec._TYPE)
    return None


_EXISTS = {  # the answers that say "some stored document has ..." (a yes only ever means the general path)
    "top_level_array",
    "contains_real_numeric",
    "contains_non_ascii_text",
    "traverses_array",
    "traverses_dbref",
    "tagged_type",
    "comparison_mismatch",
    "scalar_or_array_comparison_mismatch",
}
_SCALAR_TYPES = {"number": ("integer", "real"), "string": ("text",), "bool": ("true", "false")}


def _updated(kind: str, rest: str, cached: Any, encoded: Any) -> Any:
    """The answer after `encoded` was written, or _MISSING to drop it (mongoeco asks again)."""
    from mongoeco.engines.sqlite_query import path_array_prefixes

    if kind == "uniform_scalar_sort_type":
        found = _json_type(_json_at(encoded, rest.split(".")))
        if isinstance(cached, str) and cached in _SCALAR_TYPES:
            return cached if found in _SCALAR_TYPES[cached] else False
        scalar = found in ("integer", "real", "text", "true", "false")
        return _MISSING if scalar else False  # a no that this document could turn to yes is asked again
    if kind not in _EXISTS or not isinstance(cached, bool):
        return _MISSING
    if cached:
        return True  # "does any document ...": a yes stays yes
    if kind in ("top_level_array", "contains_real_numeric", "contains_non_ascii_text"):
        value = _json_at(encoded, rest.split("."))
        if kind == "top_level_array":
            return isinstance(value, list)
        if kind == "contains_real_numeric":
            return _json_type(value) == "real"
        return isinstance(value, str) and not value.isascii()
    if kind == "traverses_array":
        return any(isinstance(_json_at(encoded, p.split(".")), list) for p in path_array_prefixes(rest))
    if kind == "traverses_dbref":
        parts = rest.split(".")
        return any(_tagged_type(_json_at(encoded, parts[:n])) == "dbref" for n in range(1, len(parts)))
    if kind in ("tagged_type", "comparison_mismatch", "scalar_or_array_comparison_mismatch"):
        field, _, extra = rest.rpartition(":")
        if not field:
            return _MISSING
        value = _json_at(encoded, field.split("."))
        if kind == "tagged_type":
            return _tagged_type(value) == extra
        allowed = _SCALAR_TYPES.get(extra)
        if allowed is None:
            return _MISSING
        found = _json_type(value)
        if kind == "comparison_mismatch":
            return found is not None and found not in allowed
        if found == "array":
            return any(_json_type(element) not in allowed for element in value)
        return found is not None and found not in allowed
    return _MISSING


def apply_noted(engine: Any, db_name: str, coll_name: str, documents: list[Any]) -> None:
    cache = engine._collection_features_cache
    keys = [key for key in cache if key[:2] == (db_name, coll_name)]
    if not keys:
        return
    encoded = [engine._codec.encode(document) for document in documents]
    for key in keys:
        kind, _, rest = str(key[2]).partition(":")
        answer = cache[key]
        for document in encoded:
            answer = _updated(kind, rest, answer, document)
            if answer is _MISSING:
                break
        if answer is _MISSING:
            cache.pop(key, None)
        else:
            cache[key] = answer


def keep_features_across_writes(method: Any) -> Any:
    """Wrap SQLiteEngine._invalidate_collection_features_cache (see the module's docstring, 7)."""

    @functools.wraps(method)
    def wrapper(self: Any, db_name: str | None = None, coll_name: str | None = None) -> None:
        noted: list[Any] | None = None
        if db_name is not None and coll_name is not None:
            with _LOCK:
                noted = self.__dict__.get(_NOTED, {}).pop((db_name, coll_name), None)
        else:
            with _LOCK:
                self.__dict__.pop(_NOTED, None)
        if noted:
            apply_noted(self, db_name, coll_name, noted)
            return
        method(self, db_name, coll_name)

    setattr(wrapper, _MARK, True)
    return wrapper


def exact_id_miss(engine: Any, db_name: str, coll_name: str, value: Any, context: Any) -> bool:
    """True when `value` is a string `_id` (no number in it: its storage key is exact) that is not stored."""
    from mongoeco.core.identity import id_contains_numeric_value

    if not isinstance(value, str) or id_contains_numeric_value(value):
        return False
    row = (
        engine._require_connection(context)
        .execute(
            "SELECT 1 FROM documents WHERE db_name = ? AND coll_name = ? AND storage_key = ?",
            (db_name, coll_name, engine._storage_key(value)),
        )
        .fetchone()
    )
    return row is None
