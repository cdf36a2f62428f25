"""The rules for residents' photos and additions: how many, how large, which kinds, and what an addition
to an open request may be. No I/O and no image library: the bytes are re-encoded by services/intake/imaging.py
after these checks passed.

Every refusal names the file and the limit, so a resident (or a front end) knows which photo to leave out.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_PHOTOS = 5  # per submission, and per addition
MAX_PHOTOS_PER_REQUEST = 20  # everything a request holds, its additions' photos included
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_ADDITION_TEXT = 2000
# An image larger than this many pixels is refused before it is decoded (a small file can unpack into
# gigabytes: a "decompression bomb"). A 108-megapixel phone camera stays under it.
MAX_PIXELS = 120_000_000
# What intake keeps: the photo re-encoded with its longer side at most FULL_SIDE, and a thumbnail.
FULL_SIDE = 2560
THUMB_SIDE = 320

# The kinds residents' phones send, by what the bytes say (a file's name and declared type are not trusted).
KINDS = {"jpeg": "JPEG", "png": "PNG", "webp": "WebP", "heic": "HEIC"}
ALLOWED = "JPEG, PNG, HEIC or WebP"
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif")


class PhotoRefused(Exception):
    """One photo (or the batch) breaks a rule. `field` is the form field, `name` the file's name."""

    def __init__(self, field: str, name: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.name = name
        self.message = message


class AdditionRefused(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Upload:
    """One file as the front door received it."""

    name: str
    data: bytes
    declared_type: str = ""


def sniff(head: bytes) -> str | None:
    """The image kind the first bytes say (jpeg, png, webp, heic), or None for anything else."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return "heic"
    return None


def display_name(name: str | None, index: int) -> str:
    """The file's name for messages and staff: the last path part, printable, at most 80 characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()[:80]
    return base or f"photo {index + 1}"


def check_photos(uploads: list[Upload], *, field: str = "photos", already: int = 0) -> list[str]:
    """Check a batch before anything is decoded or stored; returns each file's kind. Raises PhotoRefused.
    `already`: the photos the request holds (an addition)."""
    names = ", ".join(u.name for u in uploads)
    if len(uploads) > MAX_PHOTOS:
        raise PhotoRefused(field, names, f"too many photos: {len(uploads)} sent, at most {MAX_PHOTOS}; leave some out")
    if already + len(uploads) > MAX_PHOTOS_PER_REQUEST:
        raise PhotoRefused(
            field,
            names,
            f"too many photos: this request holds {already} already, at most {MAX_PHOTOS_PER_REQUEST} in all",
        )
    kinds = []
    for upload in uploads:
        if not upload.data:
            raise PhotoRefused(field, upload.name, f"{upload.name!r} is empty; choose the photo again")
        if len(upload.data) > MAX_PHOTO_BYTES:
            size = len(upload.data) / (1024 * 1024)
            raise PhotoRefused(
                field,
                upload.name,
                f"{upload.name!r} is too big ({size:.1f} MB); each photo may be at most "
                f"{MAX_PHOTO_BYTES // (1024 * 1024)} MB",
            )
        kind = sniff(upload.data[:32])
        if kind is None:
            declared = upload.declared_type.lower()
            if declared.startswith("image/"):
                raise PhotoRefused(
                    field,
                    upload.name,
                    f"{upload.name!r} is a type of picture we cannot take ({declared}); send {ALLOWED}",
                )
            raise PhotoRefused(field, upload.name, f"{upload.name!r} is not a photo; send {ALLOWED}")
        kinds.append(kind)
    return kinds


def check_addition(text: str | None, photo_count: int) -> str | None:
    """What a resident adds to an open request: some words, photos, or both. Returns the cleaned text."""
    cleaned = (text or "").strip() or None
    if cleaned is not None and len(cleaned) > MAX_ADDITION_TEXT:
        raise AdditionRefused("text", f"at most {MAX_ADDITION_TEXT} characters; shorten it")
    if cleaned is None and photo_count == 0:
        raise AdditionRefused("text", "write something or attach a photo to add")
    return cleaned
