"""Links to residents' photos for the staff console. Intake keeps the photos; routing's console shows them
in `<img>` tags, which cannot send a staff token. So routing, having checked that the staff member may see
the task, signs a short-lived link (HMAC-SHA256 under the shared JWT secret, naming the request, the photo,
the size and the expiry) and intake serves the bytes to a link whose signature and expiry hold.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

LINK_TTL_S = 15 * 60  # long enough to read a task page, short enough that a copied link soon stops working


def _mac(secret: str, request_id: str, photo_id: str, variant: str, expires: int) -> str:
    message = f"huiying-photo\x00{request_id}\x00{photo_id}\x00{variant}\x00{expires}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def photo_link(
    base_url: str, secret: str, request_id: str, photo_id: str, variant: str, now: datetime, ttl_s: int = LINK_TTL_S
) -> str:
    """The URL of one photo on intake (`base_url` is intake's public URL), valid for ttl_s seconds."""
    expires = int(now.timestamp()) + ttl_s
    path = f"/v1/requests/{request_id}/photos/{photo_id}" + ("/thumb" if variant == "thumb" else "")
    return f"{base_url}{path}?expires={expires}&sig={_mac(secret, request_id, photo_id, variant, expires)}"


def link_holds(
    secret: str, request_id: str, photo_id: str, variant: str, expires: int, sig: str, now: datetime
) -> bool:
    if expires < int(now.timestamp()):
        return False
    return hmac.compare_digest(sig.encode(), _mac(secret, request_id, photo_id, variant, expires).encode())
