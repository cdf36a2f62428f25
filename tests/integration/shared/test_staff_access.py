"""An account's change holds on intake and notify through the staff read model (shared/staff_access.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import HTTPException
from pymongo import AsyncMongoClient

from shared.events import StaffChanged, new_event, staff_aggregate_id
from shared.security import StaffClaims
from shared.staff_access import StaffAccess
from tests.support import unique

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def changed(rev: int, *, ver: int, active: bool = True, role: str = "lead", team: str | None = "property") -> Any:
    data = StaffChanged(
        request_id=staff_aggregate_id("li.lead"),
        username="li.lead",
        token_version=ver,
        active=active,
        role=role,  # type: ignore[arg-type]
        team=team,
        change="updated",
        changed_at=NOW,
    )
    return new_event(data, producer="routing", seq=rev, occurred_at=NOW), data


async def test_disable_demote_and_password_change_hold(mongo: AsyncMongoClient[dict[str, Any]]) -> None:
    db = mongo[unique("hyt-staff-")]
    try:
        access = StaffAccess(db["staff_access"])
        token = StaffClaims(sub="li.lead", role="supervisor", team=None, ver=1)
        assert await access.current(token) == token  # not heard of yet: the token stands

        await access.apply(*changed(2, ver=1, role="member", team="property"))  # demoted
        now = await access.current(token)
        assert (now.role, now.team) == ("member", "property")

        await access.apply(*changed(3, ver=2))  # password changed: older tokens are out
        with pytest.raises(HTTPException, match="sign in again"):
            await access.current(token)
        assert (await access.current(token.model_copy(update={"ver": 2}))).role == "lead"

        await access.apply(*changed(4, ver=3, active=False))
        with pytest.raises(HTTPException, match="disabled"):
            await access.current(token.model_copy(update={"ver": 3}))

        await access.apply(*changed(3, ver=2))  # a late, older event changes nothing
        await access.apply(*changed(4, ver=3, active=False))  # a redelivery neither
        stored = await db["staff_access"].find_one({"_id": "li.lead"})
        assert stored is not None and stored["rev"] == 4 and stored["active"] is False
    finally:
        await mongo.drop_database(db.name)
