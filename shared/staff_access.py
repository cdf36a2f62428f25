"""The staff read model of intake and notify: each account's current state, fed by `staff.changed`.

Routing owns accounts and checks them itself. The other services verify the token's signature and then
ask this read model: an account that is disabled, or whose token version is newer than the token's, is
refused (401); the role and team are the account's current ones, not the token's. An account the model
has not heard of yet (created a moment ago) is taken as the token says.
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from shared.bus import Poison
from shared.events import Envelope, EventData, StaffChanged
from shared.security import StaffClaims

Document = dict[str, Any]


class StaffAccess:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def apply(self, envelope: Envelope, data: StaffChanged) -> None:
        """Keep the newest state (by the envelope's seq, the account's revision). Idempotent."""
        state = {
            "token_version": data.token_version,
            "active": data.active,
            "role": data.role,
            "team": data.team,
            "rev": envelope.seq,
        }
        try:
            await self.collection.update_one(
                {"_id": data.username, "rev": {"$lt": envelope.seq}}, {"$set": state}, upsert=True
            )
        except DuplicateKeyError:
            pass  # the account is known with a newer or equal revision: nothing to do

    async def current(self, claims: StaffClaims) -> StaffClaims:
        """The claims as the account stands now; raises 401 for a disabled account or a revoked token."""
        account = await self.collection.find_one({"_id": claims.sub})
        if account is None:
            return claims
        if not account["active"]:
            raise _unauthorized("this staff account is disabled; ask an admin")
        if claims.ver < account["token_version"]:
            raise _unauthorized("this token was issued before the account changed; sign in again")
        return StaffClaims(sub=claims.sub, role=account["role"], team=account["team"], ver=claims.ver)


class StaffEventsHandler:
    """The `staff.*` consumer of intake and notify: each event into the read model (idempotent)."""

    def __init__(self, access: StaffAccess) -> None:
        self.access = access

    async def __call__(self, envelope: Envelope, data: EventData) -> None:
        if not isinstance(data, StaffChanged):
            raise Poison(f"{envelope.type} is not a staff event this service knows")
        await self.access.apply(envelope, data)


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})
