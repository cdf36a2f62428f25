"""Photos and additions: the rules (limits, kinds), the re-encoding that drops metadata, the addition's
write, and the service layer on fakes (photos deleted again when the submission fails or replays, the
orphan sweep)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.intake.domain.additions import NotOpen, supplement
from services.intake.domain.emergency import EmergencySuspected
from services.intake.domain.photos import (
    MAX_PHOTO_BYTES,
    MAX_PHOTOS,
    AdditionRefused,
    PhotoRefused,
    Upload,
    check_addition,
    check_photos,
    display_name,
    sniff,
)
from services.intake.imaging import Encoded, reencode
from services.intake.photo_store import Variant
from services.intake.photos import Photos
from tests.support_photos import exif_of, gps_of, heic, jpeg_with_gps, png
from tests.unit.intake.test_service import Desk, command

# -- the rules -----------------------------------------------------------------------------------------------


def test_the_kind_is_read_from_the_bytes_not_the_name() -> None:
    assert sniff(jpeg_with_gps()[:32]) == "jpeg"
    assert sniff(png()[:32]) == "png"
    assert sniff(heic()[:32]) == "heic"
    assert sniff(b"RIFF\0\0\0\0WEBPVP8 ") == "webp"
    assert sniff(b"GIF89a") is None and sniff(b"%PDF-1.4") is None and sniff(b"") is None


@pytest.mark.parametrize(
    ("uploads", "expected"),
    [
        ([Upload("big.jpg", b"\xff\xd8\xff" + b"\0" * MAX_PHOTO_BYTES)], "'big.jpg' is too big (10.0 MB); each photo may be at most 10 MB"),  # noqa: E501
        ([Upload("x.pdf", b"%PDF-1.4", "application/pdf")], "'x.pdf' is not a photo; send JPEG, PNG, HEIC or WebP"),
        ([Upload("x.gif", b"GIF89a....", "image/gif")], "'x.gif' is a type of picture we cannot take (image/gif)"),
        ([Upload("empty.jpg", b"")], "'empty.jpg' is empty"),
        ([Upload(f"{i}.jpg", b"\xff\xd8\xff") for i in range(MAX_PHOTOS + 1)], "too many photos: 6 sent, at most 5"),
    ],
)  # fmt: skip
def test_a_bad_batch_is_refused_naming_the_file_and_the_limit(uploads: list[Upload], expected: str) -> None:
    with pytest.raises(PhotoRefused) as refused:
        check_photos(uploads)
    assert expected in refused.value.message and refused.value.field == "photos"


def test_a_request_holds_at_most_twenty_photos() -> None:
    one = [Upload("a.jpg", b"\xff\xd8\xff\xe0")]
    assert check_photos(one, already=19) == ["jpeg"]
    with pytest.raises(PhotoRefused, match="holds 20 already, at most 20 in all"):
        check_photos(one, already=20)


def test_file_names_are_shown_safely() -> None:
    assert display_name("C:\\Users\\wang\\IMG_0001.HEIC", 0) == "IMG_0001.HEIC"
    assert display_name("../../etc/passwd\n", 0) == "passwd"
    assert display_name(None, 2) == "photo 3"
    assert len(display_name("a" * 300, 0)) == 80


def test_an_addition_needs_words_or_a_photo() -> None:
    assert check_addition("  天花板也湿了 ", 0) == "天花板也湿了"
    assert check_addition(None, 1) is None
    with pytest.raises(AdditionRefused, match="write something or attach a photo"):
        check_addition("   ", 0)
    with pytest.raises(AdditionRefused, match="at most 2000"):
        check_addition("字" * 2001, 0)


# -- re-encoding -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [jpeg_with_gps, png, heic])
def test_reencoding_keeps_the_pixels_and_drops_every_tag(make: Any) -> None:
    original = make()
    encoded = reencode(Upload("p", original))
    assert encoded.full[:3] == b"\xff\xd8\xff" and encoded.thumb[:3] == b"\xff\xd8\xff"
    assert gps_of(encoded.full) == {} and exif_of(encoded.full) == {} and exif_of(encoded.thumb) == {}
    assert len(encoded.thumb) <= len(encoded.full)


def test_a_large_photo_is_scaled_down_and_its_thumbnail_is_small() -> None:
    encoded = reencode(Upload("big.jpg", jpeg_with_gps((2800, 2100))))
    assert (encoded.width, encoded.height) == (2560, 1920)


def test_a_file_that_looks_like_a_photo_but_is_not_is_refused() -> None:
    with pytest.raises(PhotoRefused, match=r"'broken\.jpg' could not be read as a photo"):
        reencode(Upload("broken.jpg", b"\xff\xd8\xff\xe0 not really"))


# -- the addition's write -------------------------------------------------------------------------------


def test_an_addition_is_one_guarded_write_with_its_event() -> None:
    now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    doc = {"_id": "r1", "status": "dispatched", "seq": 3}
    change = supplement(doc, addition_id="a1", text="又漏了", photos=[], now=now)
    assert change.guard["seq"] == 3 and change.update["$inc"] == {"seq": 1}
    assert change.update["$push"]["additions"] == {"id": "a1", "text": "又漏了", "photos": [], "at": now}
    [event] = change.events
    assert (event.type, event.seq, event.data["text"]) == ("request.supplemented", 4, "又漏了")
    for status in ("resolved", "closed", "cancelled", "not_accepted", "duplicate"):
        with pytest.raises(NotOpen):
            supplement({**doc, "status": status}, addition_id="a2", text="x", photos=[], now=now)


# -- the service layer on fakes ---------------------------------------------------------------------------


class MemoryPhotoStore:
    def __init__(self) -> None:
        self.files: dict[str, dict[str, Any]] = {}
        self.fail_put_after: int | None = None

    async def put(self, photo_id: str, encoded: Encoded, now: datetime) -> None:
        if self.fail_put_after is not None and len(self.files) >= self.fail_put_after:
            raise ConnectionError("database gone")
        self.files[photo_id] = {"full": encoded.full, "thumb": encoded.thumb, "at": now, "checked": False}

    async def read(self, photo_id: str, variant: Variant) -> bytes | None:
        found = self.files.get(photo_id)
        return found[variant] if found else None

    async def delete(self, photo_ids: list[str]) -> None:
        for photo_id in photo_ids:
            self.files.pop(photo_id, None)

    async def unchecked(self, before: datetime, limit: int) -> list[str]:
        return [k for k, v in self.files.items() if v["at"] < before and not v["checked"]][:limit]

    async def mark_checked(self, photo_ids: list[str]) -> None:
        for photo_id in photo_ids:
            self.files[photo_id]["checked"] = True


def desk_with_photos() -> tuple[Desk, MemoryPhotoStore]:
    desk = Desk()
    files = MemoryPhotoStore()

    async def referenced(ids: list[str]) -> set[str]:
        listed = {p["id"] for doc in desk.store.requests.values() for p in doc.get("photos") or []}
        return listed & set(ids)

    desk.service.photos = Photos(files, referenced, desk.clock, orphan_grace_s=60)
    return desk, files


PHOTO = Upload("leak.jpg", jpeg_with_gps())


async def test_a_submission_lists_its_photos_and_its_event_carries_them() -> None:
    desk, files = desk_with_photos()
    doc = (await desk.service.submit_with_photos(command(), [PHOTO])).document
    [photo] = doc["photos"]
    assert photo["name"] == "leak.jpg" and photo["id"] in files.files
    [event] = desk.publisher.published
    assert event.data["photos"][0]["id"] == photo["id"]


async def test_a_failed_or_replayed_submission_deletes_its_photos() -> None:
    desk, files = desk_with_photos()
    with pytest.raises(EmergencySuspected):
        await desk.service.submit_with_photos(command(description="煤气泄漏，闻到很大的煤气味"), [PHOTO])
    assert files.files == {}
    first = await desk.service.submit_with_photos(command(idempotency_key="k1", fingerprint="f"), [PHOTO])
    again = await desk.service.submit_with_photos(command(idempotency_key="k1", fingerprint="f"), [PHOTO])
    assert again.replayed and list(files.files) == [first.document["photos"][0]["id"]]


async def test_a_photo_store_failure_midway_leaves_nothing() -> None:
    desk, files = desk_with_photos()
    files.fail_put_after = 1
    with pytest.raises(ConnectionError):
        await desk.service.submit_with_photos(command(), [PHOTO, Upload("b.png", png())])
    assert files.files == {} and desk.store.requests == {}


async def test_the_orphan_sweep_deletes_only_unlisted_photos_past_the_grace() -> None:
    desk, files = desk_with_photos()
    photos = desk.service.photos
    assert photos is not None
    kept = (await desk.service.submit_with_photos(command(), [PHOTO])).document["photos"][0]["id"]
    [orphan] = await photos.keep([PHOTO])
    assert await photos.sweep_once() == (0, 0)  # within the grace: a request may still come to list it
    desk.clock.advance(seconds=61)
    assert await photos.sweep_once() == (2, 1)
    assert orphan.id not in files.files and kept in files.files
    assert await photos.sweep_once() == (0, 0)


async def test_the_resident_adds_to_an_open_request() -> None:
    desk, files = desk_with_photos()
    doc = await desk.submit()
    desk.publisher.published.clear()
    after = await desk.service.add_to(doc["tracking_code"].lower(), "  还有一张照片 ", [PHOTO])
    [added] = after["additions"]
    assert added["text"] == "还有一张照片" and added["photos"] == [after["photos"][0]["id"]]
    assert after["photos"][0]["addition_id"] == added["id"]
    [event] = desk.publisher.published
    assert event.type == "request.supplemented" and event.data["photos"][0]["id"] in files.files
    with pytest.raises(AdditionRefused):
        await desk.service.add_to(doc["tracking_code"], " ", [])
