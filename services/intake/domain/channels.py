"""Channels: every front end (web, mini program, service window, hotline, grid workers) has its own API key.

Keys are random (`hy_` + 43 URL-safe characters), shown once when created or rotated, and stored only as
their SHA-256. The resident portal files through a channel of its own, `portal`, whose key nobody knows.
No I/O: the documents are written by services/intake/store.py.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

ChannelKind = Literal["web", "miniprogram", "window", "hotline", "grid_worker"]
CHANNEL_KINDS: tuple[ChannelKind, ...] = ("web", "miniprogram", "window", "hotline", "grid_worker")
# Channels staffed by someone who files on a resident's behalf (and says who they are in `filed_by`).
ON_BEHALF_KINDS = frozenset({"window", "hotline", "grid_worker"})
PORTAL_CHANNEL = "portal"
KEY_PREFIX = "hy_"

Document = dict[str, Any]


@dataclass(frozen=True)
class Channel:
    """The channel a request comes through, as the submission rules need it."""

    id: str
    kind: str = "web"
    webhook_url: str | None = None

    @classmethod
    def of(cls, doc: Document) -> Channel:
        return cls(id=doc["_id"], kind=doc.get("kind", "web"), webhook_url=doc.get("webhook_url"))

    @property
    def on_behalf(self) -> bool:
        return self.kind in ON_BEHALF_KINDS


@dataclass(frozen=True)
class CreateChannel:
    id: str
    name: str
    kind: str
    webhook_url: str | None = None


@dataclass(frozen=True)
class UpdateChannel:
    name: str | None = None  # None: keep the name
    webhook_url: str | None = None
    set_webhook: bool = False  # True: set `webhook_url` (None removes the webhook)


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(api_key: str) -> str:
    # API keys are long random strings, so a fast hash is enough (unlike passwords).
    return hashlib.sha256(api_key.encode()).hexdigest()


def key_fields(api_key: str) -> Document:
    """What a channel stores of its key: the hash, and a hint to tell keys apart."""
    return {"key_hash": hash_key(api_key), "key_hint": api_key[:7]}


def new_channel(cmd: CreateChannel, api_key: str, actor: str, now: datetime) -> Document:
    return {
        "_id": cmd.id,
        "name": cmd.name,
        "kind": cmd.kind,
        "webhook_url": cmd.webhook_url,
        **key_fields(api_key),
        "active": True,
        "created_at": now,
        "updated_at": now,
        "rotated_at": None,
        "updated_by": actor,
    }


def portal_channel(unused_key: str, now: datetime) -> Document:
    """The portal's channel as first created. Its key is random and never shown: the portal files on the
    server side, and nobody can use the channel through the API unless an admin rotates a key for it."""
    return {
        "name": "居民网上服务大厅 / resident portal",
        "kind": "web",
        "webhook_url": None,
        "key_hash": hash_key(unused_key),
        "key_hint": None,
        "active": True,
        "created_at": now,
        "updated_at": now,
        "rotated_at": None,
        "updated_by": "intake",
    }


def channel_view(doc: Document, api_key: str | None = None) -> Document:
    """A channel as the admin API shows it: never its key's hash; the key itself only when just issued."""
    view = {
        "id": doc["_id"],
        "name": doc.get("name") or doc["_id"],
        "kind": doc.get("kind", "web"),
        "webhook_url": doc.get("webhook_url"),
        "active": bool(doc.get("active")),
        "key_hint": doc.get("key_hint"),
        "created_at": doc.get("created_at"),
        "updated_at": doc.get("updated_at"),
        "rotated_at": doc.get("rotated_at"),
        "updated_by": doc.get("updated_by"),
    }
    if api_key is not None:
        view["api_key"] = api_key
    return view
