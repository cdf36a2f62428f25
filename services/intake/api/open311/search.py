"""GET Service Requests: the query parameters read into one MongoDB query, every mistake answered 400 (or
404 for an unknown service code) the Open311 way."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from services.intake.api.open311.errors import Open311Error
from services.intake.domain.catalogue import Catalogue, Service
from services.intake.domain.open311 import status_filter
from services.intake.domain.submission import UnknownService

MAX_RANGE = timedelta(days=90)
MAX_IDS = 100


def w3c_param(name: str, raw: str | None) -> datetime | None:
    if raw is None or not raw.strip():
        return None
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise Open311Error(400, f"{name}: use the w3 format, e.g. 2010-01-01T00:00:00Z") from None
    if moment.tzinfo is None:
        raise Open311Error(400, f"{name}: add a time zone, e.g. 2010-01-01T00:00:00Z or +08:00")
    return moment


def list_param(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


def submitted_window(now: datetime, start_date: str | None, end_date: str | None) -> dict[str, datetime]:
    start = w3c_param("start_date", start_date)
    end = w3c_param("end_date", end_date)
    if start and end and end < start:
        raise Open311Error(400, "end_date is before start_date")
    if start and end and end - start > MAX_RANGE:
        raise Open311Error(400, "start_date to end_date may not span more than 90 days")
    if start is None and end is None:
        end = now
    if start is None:
        assert end is not None
        start = end - MAX_RANGE
    elif end is None:
        end = start + MAX_RANGE
    return {"$gte": start, "$lte": end}


def updated_window(after: str | None, before: str | None) -> dict[str, datetime] | None:
    """`updated_after` < updated_datetime < `updated_before`: both ends excluded, so a client that stores
    the newest updated_datetime it saw and asks for what changed after it never gets the same change twice."""
    low, high = w3c_param("updated_after", after), w3c_param("updated_before", before)
    if low and high and high <= low:
        raise Open311Error(400, "updated_before must be after updated_after")
    window = ({"$gt": low} if low else {}) | ({"$lt": high} if high else {})
    return window or None


def known_service(catalogue: Catalogue, code: str) -> Service:
    service = catalogue.get(code)
    if service is None:
        raise UnknownService(code)  # 404 (api/errors.py)
    return service


def search_query(
    now: datetime,
    catalogue: Catalogue,
    *,
    service_request_id: str | None,
    service_code: str | None,
    start_date: str | None,
    end_date: str | None,
    status: str | None,
    updated_after: str | None = None,
    updated_before: str | None = None,
) -> dict[str, Any]:
    """Chosen ids, or a search: by default the last 90 days, at most 90 days at once. With `updated_after`
    or `updated_before` (the sync extension) and no dates, requests of any age changed in that window."""
    ids = list_param(service_request_id)
    if ids:
        if len(ids) > MAX_IDS:
            raise Open311Error(400, f"service_request_id: at most {MAX_IDS} ids at once")
        return {"_id": {"$in": ids}}
    query: dict[str, Any] = {}
    changed = updated_window(updated_after, updated_before)
    if changed:
        query["updated_at"] = changed
    if changed is None or start_date or end_date:
        query["submitted_at"] = submitted_window(now, start_date, end_date)
    codes = list_param(service_code)
    for code in codes:
        known_service(catalogue, code)
    if codes:
        query["service_code"] = {"$in": codes}
    wanted = set(list_param(status))
    if wanted - {"open", "closed"}:
        raise Open311Error(400, "status: use open, closed, or both comma-delimited")
    condition = status_filter(wanted)
    if condition is not None:
        query["status"] = condition
    return query
