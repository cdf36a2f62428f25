"""The resident's photos on the console's task page. Intake keeps the bytes; the page shows them from intake
through short-lived signed links (shared/photo_links.py), made here only for a staff member the page has
already found allowed to see the task, and lets the browser load images from intake's origin."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi.responses import Response

from services.routing.bootstrap import Container
from shared.photo_links import photo_link

Document = dict[str, Any]


def photo_links(container: Container, request_id: str, photos: list[Document]) -> dict[str, dict[str, str]]:
    """photo id -> {"thumb": url, "full": url} on intake."""
    settings, now = container.settings, container.clock()
    base, secret = settings.public_url("intake"), settings.jwt_secret
    return {
        p["id"]: {v: photo_link(base, secret, request_id, p["id"], v, now) for v in ("thumb", "full")} for p in photos
    }


def allow_intake_images(container: Container, response: Response) -> Response:
    """Add intake's origin to the page's img-src (the console's pages load nothing else from elsewhere)."""
    parts = urlsplit(container.settings.public_url("intake"))
    origin = f"{parts.scheme}://{parts.netloc}"
    policy = response.headers.get("Content-Security-Policy")
    if policy:
        response.headers["Content-Security-Policy"] = policy.replace("img-src 'self'", f"img-src 'self' {origin}", 1)
    return response
