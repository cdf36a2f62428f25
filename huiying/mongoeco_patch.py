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
(`id_contains_numeric_value`) decides, exactly as it does for the other write paths. Nothing else changes.
It is pinned to the version it was written against: on any other version it does nothing and says so.
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


def _skip_needless_scan(method: Any, document_arg: int) -> Any:
    """Wrap `method` so a `scan_payload_id=True` is dropped when the document's `_id` has no number in it."""
    from mongoeco.core.identity import id_contains_numeric_value

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("scan_payload_id"):
            document = args[document_arg] if len(args) > document_arg else kwargs.get("document")
            if isinstance(document, dict) and "_id" in document and not id_contains_numeric_value(document["_id"]):
                kwargs["scan_payload_id"] = False
        return method(self, *args, **kwargs)

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
    return f"mongoeco {found}: insert-scan correction applied (writes no longer scan the collection for _id)"


def is_applied() -> bool:
    from mongoeco.engines.memory import MemoryEngine
    from mongoeco.engines.sqlite import SQLiteEngine

    return bool(
        getattr(SQLiteEngine._validate_document_against_unique_indexes, _MARK, False)
        and getattr(MemoryEngine._ensure_unique_indexes, _MARK, False)
    )
