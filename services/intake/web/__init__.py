"""The resident portal, served by intake at `/` (docs/intake.md, "Resident portal").

`install(app, settings, catalogue)` mounts the pages and their static files; `ensure_portal_channel` (called
from intake's lifespan) creates the `portal` channel the pages file requests through.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from pymongo.errors import DuplicateKeyError

from services.intake.catalogue import Catalogue
from services.intake.config import DEPLOY
from services.intake.store import IntakeStore, hash_key
from services.intake.web.pages import PORTAL_CHANNEL, Portal, router
from shared.web import Catalogue as Messages
from shared.web import make_templates, mount_common_static

HERE = Path(__file__).resolve().parent.parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
MESSAGES = DEPLOY / "intake" / "portal-messages.yaml"

__all__ = ["PORTAL_CHANNEL", "ensure_portal_channel", "install"]


def install(app: FastAPI, settings: Any, catalogue: Catalogue) -> None:
    messages = Messages(MESSAGES)
    app.state.portal = Portal(make_templates(TEMPLATES, messages), messages, catalogue, settings)
    mount_common_static(app)
    app.mount("/static/portal", StaticFiles(directory=str(STATIC)), name="portal-static")
    app.include_router(router)


async def ensure_portal_channel(store: IntakeStore, now: datetime) -> None:
    """The portal's channel, created once and then left alone (an admin may disable it to pause online
    filing, or rename it). Its key is random and never shown: the portal files on the server side, and
    nobody can use the channel through the API unless an admin rotates a key for it."""
    try:
        await store.channels.update_one(
            {"_id": PORTAL_CHANNEL},
            {
                "$setOnInsert": {
                    "name": "居民网上服务大厅 / resident portal",
                    "kind": "web",
                    "webhook_url": None,
                    "key_hash": hash_key(secrets.token_urlsafe(32)),
                    "key_hint": None,
                    "active": True,
                    "created_at": now,
                    "updated_at": now,
                    "rotated_at": None,
                    "updated_by": "intake",
                }
            },
            upsert=True,
        )
    except DuplicateKeyError:
        pass  # another replica created it at the same moment
