"""Residents' photos in intake's MongoDB, through GridFS (PyMongo's `gridfs.AsyncGridFSBucket`, bucket
`photos`: collections `photos.files` and `photos.chunks`). Checked against the embedded server (mongoeco
4.11): upload, download, find and delete work as on MongoDB.

Each photo is two GridFS files, `<photo id>.full` and `<photo id>.thumb`, both JPEG re-encoded by
services/intake/imaging.py. `metadata.checked` is set once the orphan sweep (services/intake/photos.py) has
seen the photo referenced by a request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Protocol

from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile
from pymongo.asynchronous.database import AsyncDatabase

from services.intake.imaging import Encoded

Document = dict[str, Any]
Variant = Literal["full", "thumb"]
BUCKET = "photos"


class PhotoStore(Protocol):
    async def put(self, photo_id: str, encoded: Encoded, now: datetime) -> None: ...
    async def read(self, photo_id: str, variant: Variant) -> bytes | None: ...
    async def delete(self, photo_ids: list[str]) -> None: ...
    async def unchecked(self, before: datetime, limit: int) -> list[str]: ...
    async def mark_checked(self, photo_ids: list[str]) -> None: ...


class GridFSPhotoStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.bucket = AsyncGridFSBucket(db, bucket_name=BUCKET)
        self.files = db[f"{BUCKET}.files"]

    async def ensure_indexes(self) -> None:
        await self.files.create_index([("metadata.checked", 1), ("metadata.stored_at", 1)], name="orphan_sweep")

    async def put(self, photo_id: str, encoded: Encoded, now: datetime) -> None:
        for variant, data in (("full", encoded.full), ("thumb", encoded.thumb)):
            await self.bucket.upload_from_stream_with_id(
                f"{photo_id}.{variant}",
                f"{photo_id}.{variant}.jpg",
                data,
                metadata={"photo": photo_id, "variant": variant, "stored_at": now, "checked": False},
            )

    async def read(self, photo_id: str, variant: Variant) -> bytes | None:
        try:
            stream = await self.bucket.open_download_stream(f"{photo_id}.{variant}")
        except NoFile:
            return None
        return await stream.read()

    async def delete(self, photo_ids: list[str]) -> None:
        for photo_id in photo_ids:
            for variant in ("full", "thumb"):
                try:
                    await self.bucket.delete(f"{photo_id}.{variant}")
                except NoFile:
                    pass  # half-stored (a crash between the two files) or deleted by another replica

    async def unchecked(self, before: datetime, limit: int) -> list[str]:
        """Photos stored before `before` that no sweep has seen referenced yet."""
        cursor = self.files.find(
            {"metadata.checked": False, "metadata.stored_at": {"$lt": before}}, {"metadata.photo": 1}
        ).limit(limit * 2)
        return list(dict.fromkeys([doc["metadata"]["photo"] async for doc in cursor]))[:limit]

    async def mark_checked(self, photo_ids: list[str]) -> None:
        if photo_ids:
            await self.files.update_many({"metadata.photo": {"$in": photo_ids}}, {"$set": {"metadata.checked": True}})
