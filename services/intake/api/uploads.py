"""A form's file parts as the photo rules take them (domain/photos.py): used by the native API, Open311 and
the portal."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile

from services.intake.domain.photos import Upload, display_name
from shared.http import FieldError


async def uploads_of(files: list[Any], field: str = "photos") -> list[Upload]:
    """The form's file parts as the photo rules take them (an empty file input sends one nameless part)."""
    uploads = []
    for index, part in enumerate(files):
        if not isinstance(part, UploadFile):
            raise FieldError(field, "send photos as files (multipart/form-data), not as text")
        data = await part.read()
        if not data and not part.filename:
            continue  # a file input left empty
        uploads.append(Upload(display_name(part.filename, index), data, part.content_type or ""))
    return uploads
