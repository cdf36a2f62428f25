"""Photos made in the test with Pillow: a JPEG carrying a GPS position in its EXIF, a PNG, a HEIC."""

from __future__ import annotations

import io

from PIL import Image

GPS_IFD = 0x8825
MAKE = 0x010F


def jpeg_with_gps(size: tuple[int, int] = (640, 480), color: tuple[int, int, int] = (200, 60, 40)) -> bytes:
    """A JPEG whose EXIF says where it was taken (39°54'N 116°24'E) and which camera took it."""
    image = Image.new("RGB", size, color)
    exif = Image.Exif()
    exif[MAKE] = "TestPhone"
    exif[GPS_IFD] = {1: "N", 2: (39.0, 54.0, 0.0), 3: "E", 4: (116.0, 24.0, 0.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), quality=90)
    return out.getvalue()


def png(size: tuple[int, int] = (300, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, (0, 128, 255, 128)).save(out, "PNG")
    return out.getvalue()


def heic(size: tuple[int, int] = (320, 240)) -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    out = io.BytesIO()
    Image.new("RGB", size, (10, 200, 10)).save(out, "HEIF")
    return out.getvalue()


def gps_of(data: bytes) -> dict[int, object]:
    with Image.open(io.BytesIO(data)) as image:
        return dict(image.getexif().get_ifd(GPS_IFD))


def exif_of(data: bytes) -> dict[int, object]:
    with Image.open(io.BytesIO(data)) as image:
        return dict(image.getexif())
