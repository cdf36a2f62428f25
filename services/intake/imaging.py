"""Photos re-encoded with Pillow: what intake keeps of a resident's photo is a fresh JPEG made from its
pixels, so nothing of the original file travels on (EXIF with its GPS position, XMP, maker notes, comments,
embedded thumbnails), and a small thumbnail for lists and the console. HEIC (iPhones) is read through
pillow-heif. Runs in a worker thread (service.py): decoding a 12-megapixel photo takes a few hundred ms.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

from services.intake.domain.photos import FULL_SIDE, MAX_PIXELS, THUMB_SIDE, PhotoRefused, Upload

pillow_heif.register_heif_opener()
Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # larger raises DecompressionBombError before decoding (checked below too)

JPEG_QUALITY = 85
THUMB_QUALITY = 75


@dataclass(frozen=True)
class Encoded:
    name: str
    full: bytes
    thumb: bytes
    width: int
    height: int


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    # No exif=, no icc_profile=: the new file carries the pixels only.
    image.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
    return out.getvalue()


def _rgb(image: Image.Image) -> Image.Image:
    """Transparent parts on white (a screenshot with alpha), everything else to plain RGB."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def reencode(upload: Upload, field: str = "photos") -> Encoded:
    """The photo as intake keeps it, turned upright (the phone's orientation tag is applied, then dropped).
    Raises PhotoRefused for a file that says it is an image but cannot be read."""
    try:
        with Image.open(io.BytesIO(upload.data)) as opened:
            width, height = opened.size
            if width * height > MAX_PIXELS:
                raise PhotoRefused(field, upload.name, f"{upload.name!r} has too many pixels ({width}x{height})")
            opened.load()
            upright = ImageOps.exif_transpose(opened) or opened
            image = _rgb(upright)
    except PhotoRefused:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise PhotoRefused(
            field, upload.name, f"{upload.name!r} could not be read as a photo ({type(exc).__name__}); take it again"
        ) from exc
    image.thumbnail((FULL_SIDE, FULL_SIDE), Image.Resampling.LANCZOS)
    full = _jpeg(image, JPEG_QUALITY)
    thumb_image = image.copy()
    thumb_image.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    return Encoded(upload.name, full, _jpeg(thumb_image, THUMB_QUALITY), image.width, image.height)
