"""Residents' photos: checked (domain/photos.py), re-encoded (imaging.py), stored (photo_store.py) before
the request or addition that lists them is written, served to whoever may see them, and swept when no
request came to list them.

Why store first: the write before the 201 stays one insert of the request document, which carries only the
photos' references (ids, sizes); the bytes are already in GridFS. A submission that then fails (an emergency
referral, a refused draft, the database gone, an Idempotency-Key replay) deletes its photos at once; a
process that dies between the two leaves them behind, so the orphan sweep deletes photos that no request
lists once they are older than HUIYING_PHOTO_ORPHAN_GRACE_S (default one hour), and marks the listed ones
checked so each photo is looked at once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import structlog

from services.intake.domain.photos import Upload, check_photos
from services.intake.imaging import Encoded, reencode
from services.intake.photo_store import PhotoStore, Variant
from shared.events.requests import PhotoRef

log = structlog.get_logger("huiying.intake.photos")
Clock = Callable[[], datetime]
SWEEP_BATCH = 200
Referenced = Callable[[list[str]], Awaitable[set[str]]]


class Photos:
    def __init__(
        self,
        store: PhotoStore,
        referenced: Referenced,
        clock: Clock,
        *,
        orphan_grace_s: float = 3600,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self.store, self.referenced, self.clock = store, referenced, clock
        self.orphan_grace = timedelta(seconds=orphan_grace_s)
        self.new_id = new_id

    async def keep(self, uploads: list[Upload], *, field: str = "photos", already: int = 0) -> list[PhotoRef]:
        """Check, re-encode and store a batch: all of it or (PhotoRefused, or a database error) none of it."""
        if not uploads:
            return []
        check_photos(uploads, field=field, already=already)
        encoded: list[Encoded] = []
        for upload in uploads:  # one at a time: a 12-megapixel photo decodes into ~36 MB
            encoded.append(await asyncio.to_thread(reencode, upload, field))
        refs: list[PhotoRef] = []
        now = self.clock()
        try:
            for item in encoded:
                ref = PhotoRef(
                    id=self.new_id(), name=item.name, width=item.width, height=item.height, bytes=len(item.full)
                )
                refs.append(ref)  # before the write: a half-stored photo is deleted below too
                await self.store.put(ref.id, item, now)
        except BaseException:
            await self.discard(refs)
            raise
        return refs

    async def discard(self, refs: list[PhotoRef]) -> None:
        """Delete photos no request will list (best effort: the orphan sweep catches what this misses)."""
        if not refs:
            return
        try:
            await self.store.delete([r.id for r in refs])
        except Exception as exc:  # the database went away: the sweep deletes them later
            log.warning("photos left for the orphan sweep", count=len(refs), error=type(exc).__name__)

    async def read(self, photo_id: str, variant: Variant) -> bytes | None:
        return await self.store.read(photo_id, variant)

    async def sweep_once(self, batch: int = SWEEP_BATCH) -> tuple[int, int]:
        """Delete photos older than the grace period that no request lists; mark the listed ones checked.
        Returns (photos looked at, photos deleted)."""
        ids = await self.store.unchecked(self.clock() - self.orphan_grace, batch)
        if not ids:
            return 0, 0
        listed = await self.referenced(ids)
        orphans = [i for i in ids if i not in listed]
        await self.store.mark_checked(sorted(listed))
        await self.store.delete(orphans)
        if orphans:
            log.info("orphan photos deleted", count=len(orphans))
        return len(ids), len(orphans)

    async def sweep(self) -> bool:
        """The tick for shared.loop.PeriodicLoop: True (again at once) after a full batch."""
        looked, _ = await self.sweep_once()
        return looked >= SWEEP_BATCH
