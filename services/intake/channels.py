"""Channels: every front end (web, mini program, service window, hotline, grid workers) has its own API key.

Keys are random (`hy_` + 43 URL-safe characters), shown once when created or rotated, and stored only
as their SHA-256. The admin API takes a staff token with role `admin` or the `X-Admin-Token` header.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from services.intake.desk import to_millis
from services.intake.errors import native_errors
from services.intake.fields import Line, check_webhook_url
from services.intake.limits import RateLimiter
from services.intake.store import IntakeStore, hash_key
from shared.http import FieldError
from shared.security import InvalidToken, verify_token

ChannelKind = Literal["web", "miniprogram", "window", "hotline", "grid_worker"]
KEY_PREFIX = "hy_"


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


# -- models --------------------------------------------------------------------------------------------


class ChannelIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    id: str = Field(pattern=r"^[a-z][a-z0-9_-]{1,39}$", examples=["hotline"], description="a short, stable name")
    name: Line = Field(min_length=1, max_length=80, examples=["12345 热线坐席"])
    kind: ChannelKind
    webhook_url: str | None = Field(
        None, max_length=500, description="where notify posts signed status webhooks for this channel's requests"
    )


class ChannelPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: Line | None = Field(None, min_length=1, max_length=80)
    webhook_url: str | None = Field(None, max_length=500, description="null removes the webhook")


class ChannelOut(BaseModel):
    id: str
    name: str
    kind: str
    webhook_url: str | None = None
    active: bool
    key_hint: str | None = Field(None, description="the first characters of the key, to tell keys apart")
    created_at: datetime | None = None
    updated_at: datetime | None = None
    rotated_at: datetime | None = None
    updated_by: str | None = None


class ChannelWithKeyOut(ChannelOut):
    api_key: str = Field(description="shown once; store it in the front end's configuration")


class ChannelsOut(BaseModel):
    channels: list[ChannelOut]


def channel_view(doc: dict[str, Any], api_key: str | None = None) -> dict[str, Any]:
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


# -- dependencies --------------------------------------------------------------------------------------


def get_store(request: Request) -> IntakeStore:
    store: IntakeStore = request.app.state.store
    return store


def get_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.limiter
    return limiter


async def limit_address(request: Request) -> None:
    """Every API call counts against its client address (429 with Retry-After when over)."""
    settings = request.app.state.settings
    address = request.client.host if request.client else "unknown"
    await get_limiter(request).hit("addr", address, settings.rate_limit_per_address, "from this address")


async def channel_for(request: Request, api_key: str) -> dict[str, Any] | None:
    """The active channel holding this key, counted against the key's rate limit; None if unknown."""
    channel = await get_store(request).channel_for_key(api_key)
    if channel is not None:
        settings = request.app.state.settings
        await get_limiter(request).hit("key", channel["_id"], settings.rate_limit_per_key, "for this API key")
    return channel


async def require_channel(
    request: Request, x_api_key: Annotated[str | None, Header(description="the channel's API key")] = None
) -> dict[str, Any]:
    if not x_api_key:
        raise HTTPException(401, "missing X-API-Key header: every front end (channel) has its own API key")
    channel = await channel_for(request, x_api_key)
    if channel is None:
        raise HTTPException(403, "unknown or disabled API key: ask the administrator for your channel's key")
    return channel


_bearer = HTTPBearer(auto_error=False, description="a staff token with role admin (routing's POST /v1/auth/login)")


async def require_admin(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    x_admin_token: Annotated[str | None, Header(description="the operator's admin token")] = None,
) -> str:
    """Who is acting: a staff admin's username, or `admin-token`."""
    settings = request.app.state.settings
    if x_admin_token:
        if hmac.compare_digest(x_admin_token.encode(), settings.admin_token.encode()):
            return "admin-token"
        raise HTTPException(403, "wrong X-Admin-Token; use the value of HUIYING_ADMIN_TOKEN")
    if credentials is None:
        raise HTTPException(
            401,
            "sign in as an admin (`Authorization: Bearer <token>`) or send `X-Admin-Token`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        claims = verify_token(settings, credentials.credentials)
    except InvalidToken as exc:
        raise HTTPException(
            401, f"invalid or expired token ({exc}); sign in again", headers={"WWW-Authenticate": "Bearer"}
        ) from exc
    if claims.role != "admin":
        raise HTTPException(403, f"channels are managed by admins; your role is {claims.role}")
    return claims.sub


StoreDep = Annotated[IntakeStore, Depends(get_store)]
AdminDep = Annotated[str, Depends(require_admin)]

router = APIRouter(
    prefix="/v1/admin/channels",
    tags=["channels"],
    dependencies=[Depends(limit_address)],
    responses=native_errors(400, 413, 422, 429),
)

ADMIN_ERRORS = native_errors(401, 403, 404)


def _webhook(request: Request, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return check_webhook_url(value, require_https=not request.app.state.settings.is_dev)
    except ValueError as exc:
        raise FieldError("webhook_url", str(exc)) from exc


@router.post(
    "",
    status_code=201,
    response_model=ChannelWithKeyOut,
    responses={**ADMIN_ERRORS, **native_errors(409)},
    summary="Create a channel",
)
async def create_channel(body: ChannelIn, request: Request, store: StoreDep, actor: AdminDep) -> dict[str, Any]:
    webhook = _webhook(request, body.webhook_url)
    now = to_millis(request.app.state.clock())  # the answer shows what a later read shows
    api_key = new_api_key()
    doc = {
        "_id": body.id,
        "name": body.name,
        "kind": body.kind,
        "webhook_url": webhook,
        "key_hash": hash_key(api_key),
        "key_hint": api_key[:7],
        "active": True,
        "created_at": now,
        "updated_at": now,
        "rotated_at": None,
        "updated_by": actor,
    }
    if not await store.insert_channel(doc):
        raise HTTPException(409, f"channel {body.id!r} exists; rotate its key or choose another id")
    return channel_view(doc, api_key)


@router.get("", response_model=ChannelsOut, responses=ADMIN_ERRORS, summary="List channels (never their keys)")
async def list_channels(store: StoreDep, _actor: AdminDep) -> dict[str, Any]:
    return {"channels": [channel_view(d) for d in await store.list_channels()]}


async def _existing(store: IntakeStore, channel_id: str) -> dict[str, Any]:
    doc = await store.get_channel(channel_id)
    if doc is None:
        raise HTTPException(404, f"no channel {channel_id!r}; GET /v1/admin/channels lists them")
    return doc


@router.get("/{channel_id}", response_model=ChannelOut, responses=ADMIN_ERRORS, summary="One channel")
async def get_channel(channel_id: str, store: StoreDep, _actor: AdminDep) -> dict[str, Any]:
    return channel_view(await _existing(store, channel_id))


@router.patch("/{channel_id}", response_model=ChannelOut, responses=ADMIN_ERRORS, summary="Rename, set the webhook")
async def patch_channel(
    channel_id: str, body: ChannelPatch, request: Request, store: StoreDep, actor: AdminDep
) -> dict[str, Any]:
    await _existing(store, channel_id)
    fields: dict[str, Any] = {"updated_at": request.app.state.clock(), "updated_by": actor}
    if body.name is not None:
        fields["name"] = body.name
    if "webhook_url" in body.model_fields_set:
        fields["webhook_url"] = _webhook(request, body.webhook_url)
    doc = await store.update_channel(channel_id, fields)
    return channel_view(await _existing(store, channel_id) if doc is None else doc)


@router.post(
    "/{channel_id}/rotate",
    response_model=ChannelWithKeyOut,
    responses=ADMIN_ERRORS,
    summary="Issue a new key; the old one stops working at once",
)
async def rotate_key(channel_id: str, request: Request, store: StoreDep, actor: AdminDep) -> dict[str, Any]:
    await _existing(store, channel_id)
    now = request.app.state.clock()
    api_key = new_api_key()
    doc = await store.update_channel(
        channel_id,
        {
            "key_hash": hash_key(api_key),
            "key_hint": api_key[:7],
            "rotated_at": now,
            "updated_at": now,
            "updated_by": actor,
        },
    )
    if doc is None:
        raise HTTPException(404, f"no channel {channel_id!r}")
    return channel_view(doc, api_key)


async def _set_active(
    channel_id: str, active: bool, request: Request, store: IntakeStore, actor: str
) -> dict[str, Any]:
    await _existing(store, channel_id)
    now = request.app.state.clock()
    doc = await store.update_channel(channel_id, {"active": active, "updated_at": now, "updated_by": actor})
    if doc is None:
        raise HTTPException(404, f"no channel {channel_id!r}")
    return channel_view(doc)


@router.post("/{channel_id}/disable", response_model=ChannelOut, responses=ADMIN_ERRORS, summary="Disable the key")
async def disable_channel(channel_id: str, request: Request, store: StoreDep, actor: AdminDep) -> dict[str, Any]:
    return await _set_active(channel_id, False, request, store, actor)


@router.post("/{channel_id}/enable", response_model=ChannelOut, responses=ADMIN_ERRORS, summary="Enable it again")
async def enable_channel(channel_id: str, request: Request, store: StoreDep, actor: AdminDep) -> dict[str, Any]:
    return await _set_active(channel_id, True, request, store, actor)
