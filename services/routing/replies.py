"""Canned replies: kept by a team's leads (supervisors and admins for any team), read by the team, and
offered filled in for a task when a member replies. The application layer over `ReplyStore`."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from services.routing.domain import replies
from services.routing.domain.errors import Conflict, Invalid
from services.routing.domain.model import Actor
from services.routing.domain.replies import CannedReply, Offer, ReplyIn
from services.routing.replystore import ReplyStore
from services.routing.service import RoutingService


class UnknownReply(LookupError):
    """No such canned reply, or one of another team (404: not revealed)."""


@dataclass
class ReplyService:
    store: ReplyStore
    routing: RoutingService
    clock: Callable[[], datetime]
    new_id: Callable[[], str] = lambda: uuid.uuid4().hex

    async def list_for(self, actor: Actor, team: str | None = None, kind: str | None = None) -> list[CannedReply]:
        return await self.store.list(replies.readable_team(actor, team), kind)

    async def _visible(self, actor: Actor, reply_id: str) -> CannedReply:
        reply = await self.store.get(reply_id)
        if reply is None or not (actor.sees_everything or actor.team == reply.team_id):
            raise UnknownReply(reply_id)
        return reply

    async def get(self, actor: Actor, reply_id: str) -> CannedReply:
        return await self._visible(actor, reply_id)

    def _check(self, body: ReplyIn) -> None:
        replies.variables_in(body.text, "text")

    async def create(self, actor: Actor, body: ReplyIn) -> CannedReply:
        team = replies.reply_team(actor, body.team_id, self.routing.config.directory)
        self._check(body)
        if await self.store.count(team) >= replies.MAX_PER_TEAM:
            raise Invalid("title", f"a team keeps at most {replies.MAX_PER_TEAM} canned replies; delete one first")
        now = self.clock()
        reply = CannedReply(
            id=self.new_id(), team_id=team, kind=body.kind, title=body.title, text=body.text,
            created_by=actor.username, updated_by=actor.username, updated_at=now,
        )  # fmt: skip
        await self.store.insert(reply)
        return reply

    async def update(self, actor: Actor, reply_id: str, body: ReplyIn) -> CannedReply:
        current = await self._visible(actor, reply_id)
        replies.may_keep(actor, current)
        if body.team_id is not None and body.team_id != current.team_id:
            raise Invalid("team_id", "a reply stays with its team; create a new one for another team")
        self._check(body)
        changed = current.model_copy(
            update={
                "kind": body.kind,
                "title": body.title,
                "text": body.text,
                "updated_by": actor.username,
                "updated_at": self.clock(),
                "version": current.version + 1,
            }
        )
        saved = await self.store.replace(changed, current.version)
        if saved is None:
            raise Conflict("someone changed or deleted this reply meanwhile; open it again")
        return saved

    async def delete(self, actor: Actor, reply_id: str) -> None:
        replies.may_keep(actor, await self._visible(actor, reply_id))
        await self.store.delete(reply_id)

    async def offers(self, actor: Actor, request_id: str) -> list[Offer]:
        """The canned replies for a task (its team's, for its kind or every kind), filled in for it."""
        task = await self.routing.get_visible(request_id, actor)
        if task.team_id is None:
            return []
        account = await self.routing.staff.get(actor.username)
        name = (account.display_name if account else None) or actor.username
        today = self.clock().astimezone(ZoneInfo(self.routing.config.calendar.timezone)).date()
        values = replies.values_for(task, name, self.routing.config.directory, today)
        return replies.offers(await self.store.list(task.team_id, task.service_code), task, values)
