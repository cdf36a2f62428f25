"""The channels' admin API under /v1/admin/channels: create a channel (its key is shown once), list, rename,
set the webhook, rotate the key, disable and enable. It takes a staff token with role `admin` or the
`X-Admin-Token` header. Keys and their rules: services/intake/domain/channels.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from services.intake.api.deps import AdminDep, ContainerDep, limit_address
from services.intake.api.errors import native_errors
from services.intake.bootstrap import Container
from services.intake.domain.channels import ChannelKind, CreateChannel, UpdateChannel, channel_view
from services.intake.domain.fields import Line, check_webhook_url
from shared.http import FieldError
from shared.outbound import checked_addresses

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


router = APIRouter(
    prefix="/v1/admin/channels",
    tags=["channels"],
    dependencies=[Depends(limit_address)],
    responses=native_errors(400, 413, 422, 429),
)

ADMIN_ERRORS = native_errors(401, 403, 404)


async def _webhook(container: Container, value: str | None) -> str | None:
    """A webhook URL fit to save: http(s) (https outside dev mode), and a host that is not, and does not
    resolve to, a loopback, private, link-local or metadata address unless HUIYING_OUTBOUND_ALLOW lists it
    (shared/outbound.py). notify checks it again at every send."""
    if value is None:
        return None
    settings = container.settings
    try:
        checked = check_webhook_url(value, require_https=not settings.is_dev)
        await checked_addresses(
            checked, require_https=not settings.is_dev, allow=settings.outbound_allowlist, unresolved_ok=True
        )
    except ValueError as exc:
        raise FieldError("webhook_url", str(exc)) from exc
    return checked


@router.post(
    "",
    status_code=201,
    response_model=ChannelWithKeyOut,
    responses={**ADMIN_ERRORS, **native_errors(409)},
    summary="Create a channel",
)
async def create_channel(body: ChannelIn, container: ContainerDep, actor: AdminDep) -> dict[str, Any]:
    command = CreateChannel(body.id, body.name, body.kind, await _webhook(container, body.webhook_url))
    doc, api_key = await container.service.create_channel(command, actor)
    return channel_view(doc, api_key)


@router.get("", response_model=ChannelsOut, responses=ADMIN_ERRORS, summary="List channels (never their keys)")
async def list_channels(container: ContainerDep, _actor: AdminDep) -> dict[str, Any]:
    return {"channels": [channel_view(d) for d in await container.service.channels()]}


@router.get("/{channel_id}", response_model=ChannelOut, responses=ADMIN_ERRORS, summary="One channel")
async def get_channel(channel_id: str, container: ContainerDep, _actor: AdminDep) -> dict[str, Any]:
    return channel_view(await container.service.channel(channel_id))


@router.patch("/{channel_id}", response_model=ChannelOut, responses=ADMIN_ERRORS, summary="Rename, set the webhook")
async def patch_channel(
    channel_id: str, body: ChannelPatch, container: ContainerDep, actor: AdminDep
) -> dict[str, Any]:
    await container.service.channel(channel_id)  # 404 before any complaint about the body
    set_webhook = "webhook_url" in body.model_fields_set
    webhook = await _webhook(container, body.webhook_url) if set_webhook else None
    command = UpdateChannel(name=body.name, webhook_url=webhook, set_webhook=set_webhook)
    return channel_view(await container.service.update_channel(channel_id, command, actor))


@router.post(
    "/{channel_id}/rotate",
    response_model=ChannelWithKeyOut,
    responses=ADMIN_ERRORS,
    summary="Issue a new key; the old one stops working at once",
)
async def rotate_key(channel_id: str, container: ContainerDep, actor: AdminDep) -> dict[str, Any]:
    doc, api_key = await container.service.rotate_key(channel_id, actor)
    return channel_view(doc, api_key)


@router.post("/{channel_id}/disable", response_model=ChannelOut, responses=ADMIN_ERRORS, summary="Disable the key")
async def disable_channel(channel_id: str, container: ContainerDep, actor: AdminDep) -> dict[str, Any]:
    return channel_view(await container.service.set_active(channel_id, False, actor))


@router.post("/{channel_id}/enable", response_model=ChannelOut, responses=ADMIN_ERRORS, summary="Enable it again")
async def enable_channel(channel_id: str, container: ContainerDep, actor: AdminDep) -> dict[str, Any]:
    return channel_view(await container.service.set_active(channel_id, True, actor))
