"""intake's application layer: what every front door does with a checked request — take it (or refuse it
with a referral), cancel it, take the resident's feedback — plus routing's events on the status view and
the channels' keys. Each change is one guarded single-document write carrying its events, then the outbox
relay publishes them. No FastAPI, no aio-pika: the API maps these exceptions to HTTP (api/errors.py).
"""

from __future__ import annotations

import asyncio
import hmac
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import structlog

from services.intake.admission import Admission, unlimited
from services.intake.domain.additions import NotOpen, can_add, photo_count, supplement
from services.intake.domain.channels import (
    CreateChannel,
    UpdateChannel,
    hash_key,
    key_fields,
    new_api_key,
    new_channel,
)
from services.intake.domain.emergency import EmergencySuspected, EmergencyTriage
from services.intake.domain.photos import Upload, check_addition
from services.intake.domain.request import (
    CancelRequest,
    Change,
    GiveFeedback,
    SubmitRequest,
    cancel,
    feedback,
    idempotency_slot,
    submit,
    to_millis,
)
from services.intake.domain.status_view import view_update
from services.intake.domain.triage import Triage
from services.intake.metrics import EMERGENCY_DECISIONS, TRIAGE_SECONDS
from services.intake.photos import Photos
from services.intake.store import IdempotencySlotTaken, IntakeStore, TrackingCodeTaken
from shared.events import Envelope, TaskEvent
from shared.optimistic import AGAIN, Again, optimistic
from shared.outbox import Publisher
from shared.tracking import new_tracking_code, normalize_tracking_code

log = structlog.get_logger("huiying.intake")
Document = dict[str, Any]
Clock = Callable[[], datetime]


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with a different body."""


class UnknownRequest(Exception):
    """No request with this id and tracking code (one answer for both, so ids cannot be probed)."""


class Busy(Exception):
    """The request kept changing under us; the client may simply retry."""


class Overloaded(Busy):
    """Admission control refused a new write at once (services/intake/admission.py)."""


class UnknownChannel(Exception):
    def __init__(self, channel_id: str) -> None:
        super().__init__(channel_id)
        self.channel_id = channel_id


class ChannelExists(UnknownChannel):
    pass


@dataclass(frozen=True)
class Submitted:
    document: Document
    replayed: bool  # True: an earlier answer to the same Idempotency-Key and body


class IntakeService:
    def __init__(
        self,
        store: IntakeStore,
        publisher: Publisher,
        triage: Triage,
        clock: Clock,
        *,
        emergency: EmergencyTriage,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
        new_code: Callable[[], str] = new_tracking_code,
        new_key: Callable[[], str] = new_api_key,
        admission: Admission | None = None,
        photos: Photos | None = None,
    ) -> None:
        self.store = store
        self.publisher = publisher
        self.triage = triage
        self.emergency = emergency
        self.clock = clock
        self.new_id = new_id
        self.new_code = new_code
        self.new_key = new_key
        self.admission = admission or unlimited()
        self._keys: dict[str, Document] | None = None  # key hash -> active channel (refresh_keys)
        self.photos = photos

    # -- requests ----------------------------------------------------------------------------------

    async def _replay(self, cmd: SubmitRequest) -> Submitted | None:
        if cmd.idempotency_key is None:
            return None
        earlier = await self.store.by_idempotency_slot(idempotency_slot(cmd.channel, cmd.idempotency_key))
        if earlier is None:
            return None
        if earlier.get("idem_fingerprint") != cmd.fingerprint:
            raise IdempotencyConflict
        return Submitted(earlier, replayed=True)

    async def submit(self, cmd: SubmitRequest) -> Submitted:
        """Take the request, or refuse it at the door with a referral (triage); a retry with the same
        Idempotency-Key and body answers the first answer again. Raises EmergencySuspected, storing nothing,
        when the words sound like an emergency and the client did not confirm it is not one; Overloaded at once
        when intake's database is slow or too many writes are in flight."""
        # Up to a tenth of a second on a 4000-character text: off the event loop, before a write slot is taken.
        with TRIAGE_SECONDS.time():
            decision = await asyncio.to_thread(self.emergency.classify, cmd.service_code, cmd.free_text, cmd.attributes)
        if decision.emergency and not (cmd.confirm_not_emergency and decision.overridable):
            EMERGENCY_DECISIONS.labels(decision.rule, "referred").inc()
            log.info("emergency referral", rule=decision.rule, call=decision.call, channel=cmd.channel)
            raise EmergencySuspected(decision)
        if decision.emergency:
            EMERGENCY_DECISIONS.labels(decision.rule, "confirmed_not_emergency").inc()
        with self.admission.slot(Overloaded):
            return await self._submit(cmd, decision.rule if decision.emergency else None)

    async def _submit(self, cmd: SubmitRequest, overridden: str | None) -> Submitted:
        # No look-up first: the insert itself finds an earlier request with the same Idempotency-Key (the
        # unique index), so a new submission costs one database command; a retry costs a read on top.
        referral = self.triage.check(cmd.service_code, cmd.attributes)
        now = to_millis(self.clock())

        async def attempt() -> Submitted | Again:
            accepted = submit(
                cmd,
                request_id=self.new_id(),
                tracking_code=self.new_code(),
                now=now,
                referral=referral,
                emergency_overridden=overridden,
            )
            try:
                document = await self.store.insert_request(accepted)
            except TrackingCodeTaken:
                return AGAIN  # 50-bit codes clash rarely; draw another
            except IdempotencySlotTaken:
                # An earlier request (a retry, or another replica a moment ago) holds this key.
                replay = await self._replay(cmd)
                if replay is None:  # pragma: no cover - the slot holder cannot vanish
                    raise Busy("could not store the request; try again") from None
                return replay
            await self.publisher.publish_after_write(document)
            return Submitted(document, replayed=False)

        return await optimistic(attempt, gave_up=lambda: Busy("could not store the request; try again"))

    async def _owned(self, request_id: str, tracking_code: str) -> Document:
        doc = await self.store.by_id(request_id)
        code = normalize_tracking_code(tracking_code)
        if doc is None or code is None or not hmac.compare_digest(doc["tracking_code"], code):
            raise UnknownRequest("no request with this id and tracking code; check both on your receipt")
        return doc

    async def _write(self, change_for: Callable[[Document], Change | None], doc: Document) -> Document:
        """Decide on `doc`, write where it is still current, publish; on a lost race read and decide again.
        `change_for` returns the domain's Change, or None when there is nothing to change."""
        current = doc

        async def attempt() -> Document | Again:
            nonlocal current
            change = change_for(current)
            if change is None:
                return current
            after = await self.store.apply_change(change)
            if after is None:
                current = await self.store.by_id(current["_id"]) or current
                return AGAIN
            await self.publisher.publish_after_write(after)
            return after

        return await optimistic(attempt, gave_up=lambda: Busy("the request is changing right now; try again"))

    async def cancel(self, cmd: CancelRequest) -> Document:
        """Cancel while not final (raises NotCancellable). Cancelling a cancelled request answers its
        state again (a retry)."""
        doc = await self._owned(cmd.request_id, cmd.tracking_code)
        now = self.clock()
        return await self._write(
            lambda d: None if d["status"] == "cancelled" else cancel(d, reason=cmd.reason, now=now), doc
        )

    async def feedback(self, cmd: GiveFeedback) -> Document:
        """The resident's rating, once per resolution (raises FeedbackNotOpen)."""
        doc = await self.find(cmd.tracking_code)
        if doc is None:
            raise UnknownRequest("no request with this tracking code; check the code on your receipt")
        now = self.clock()
        return await self._write(lambda d: feedback(d, rating=cmd.rating, comment=cmd.comment, now=now), doc)

    async def apply_task_event(self, envelope: Envelope, data: TaskEvent) -> bool:
        """Routing's event on the status view, idempotently; False if the request is unknown."""
        state, entry = view_update(envelope, data)
        return await self.store.apply_routing_event(data.request_id, envelope.seq, state, entry)

    async def find(self, tracking_code: str) -> Document | None:
        """The request with this tracking code (any case, spaces and dashes allowed)."""
        code = normalize_tracking_code(tracking_code)
        return await self.store.by_tracking_code(code) if code else None

    async def get(self, request_id: str) -> Document | None:
        return await self.store.by_id(request_id)

    async def search(self, query: Document, *, skip: int, limit: int) -> list[Document]:
        return await self.store.find_requests(query, skip=skip, limit=limit)

    # -- photos and additions (services/intake/photos.py) -------------------------------------------

    def _photos(self) -> Photos:
        if self.photos is None:  # pragma: no cover - bootstrap always gives one
            raise RuntimeError("this intake was built without a photo store")
        return self.photos

    async def submit_with_photos(self, cmd: SubmitRequest, uploads: list[Upload], field: str = "photos") -> Submitted:
        """`submit`, with photos stored first and listed on the request; a submission that fails (or replays
        an earlier one) deletes its photos again. Raises PhotoRefused, storing nothing, for a bad file."""
        if not uploads:
            return await self.submit(cmd)
        photos = self._photos()
        refs = await photos.keep(uploads, field=field)
        try:
            submitted = await self.submit(replace(cmd, photos=refs))
        except BaseException:
            await photos.discard(refs)
            raise
        if submitted.replayed:
            await photos.discard(refs)
        return submitted

    async def add_to(self, tracking_code: str, text: str | None, uploads: list[Upload]) -> Document:
        """The resident's words or photos added to their open request (raises UnknownRequest, NotOpen,
        AdditionRefused, PhotoRefused); the request after the write, its new addition last."""
        doc = await self.find(tracking_code)
        if doc is None:
            raise UnknownRequest("no request with this tracking code; check the code on your receipt")
        if not can_add(doc):
            raise NotOpen(doc["status"])
        cleaned = check_addition(text, len(uploads))
        photos = self._photos()
        refs = await photos.keep(uploads, already=photo_count(doc)) if uploads else []
        addition_id, now = self.new_id(), to_millis(self.clock())
        try:
            return await self._write(
                lambda d: supplement(d, addition_id=addition_id, text=cleaned, photos=refs, now=now), doc
            )
        except BaseException:
            await photos.discard(refs)
            raise

    # -- channels ----------------------------------------------------------------------------------

    async def channel_for_key(self, api_key: str) -> Document | None:
        """The active channel holding this key; None if unknown or disabled.

        Served from memory: the active channels are read again every HUIYING_CHANNEL_CACHE_S seconds (and at
        once after a change made through this replica), so a key disabled or rotated on another replica keeps
        working for at most that long."""
        if self._keys is None:
            await self.refresh_keys()
        channel = (self._keys or {}).get(hash_key(api_key))
        return dict(channel) if channel is not None else None

    async def refresh_keys(self) -> None:
        self._keys = {doc["key_hash"]: doc for doc in await self.store.active_channels()}

    async def channels(self) -> list[Document]:
        return await self.store.list_channels()

    async def channel(self, channel_id: str) -> Document:
        doc = await self.store.get_channel(channel_id)
        if doc is None:
            raise UnknownChannel(channel_id)
        return doc

    async def create_channel(self, cmd: CreateChannel, actor: str) -> tuple[Document, str]:
        """The new channel and its key (shown once). Raises ChannelExists."""
        api_key = self.new_key()
        doc = new_channel(cmd, api_key, actor, to_millis(self.clock()))  # the answer shows what a read shows
        if not await self.store.insert_channel(doc):
            raise ChannelExists(cmd.id)
        await self.refresh_keys()
        return doc, api_key

    async def _update_channel(self, channel_id: str, fields: Document, actor: str) -> Document:
        doc = await self.store.update_channel(channel_id, {**fields, "updated_by": actor})
        if doc is None:
            raise UnknownChannel(channel_id)
        await self.refresh_keys()
        return doc

    async def update_channel(self, channel_id: str, cmd: UpdateChannel, actor: str) -> Document:
        fields: Document = {"updated_at": self.clock()}
        if cmd.name is not None:
            fields["name"] = cmd.name
        if cmd.set_webhook:
            fields["webhook_url"] = cmd.webhook_url
        return await self._update_channel(channel_id, fields, actor)

    async def rotate_key(self, channel_id: str, actor: str) -> tuple[Document, str]:
        """A new key; the old one stops working at once."""
        api_key, now = self.new_key(), self.clock()
        doc = await self._update_channel(
            channel_id, {**key_fields(api_key), "rotated_at": now, "updated_at": now}, actor
        )
        return doc, api_key

    async def set_active(self, channel_id: str, active: bool, actor: str) -> Document:
        return await self._update_channel(channel_id, {"active": active, "updated_at": self.clock()}, actor)
