"""Personal data (个人信息保护法): revealing a resident's phone (logged), the access-audit log, and a resident's
export and erasure across the three services (docs/security.md, "Privacy"; docs/routing.md has examples).

- POST /v1/tasks/{id}/reveal-phone           anyone who sees the task; the answer is the whole phone, logged
- GET  /v1/privacy/audit                       supervisors and admins: who saw or moved personal data, newest first
- POST /v1/privacy/requests                    admins: export or erase one resident's data (by phone or tracking code)
- GET  /v1/privacy/requests[/{id}]             admins: the requests and how many services have answered
- GET  /v1/privacy/requests/{id}/export        admins: the export as one JSON file (logged)
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from services.routing.api.deps import ContainerDep, CurrentActor, require
from services.routing.bootstrap import Container
from services.routing.domain.errors import Invalid
from services.routing.domain.model import Actor
from services.routing.privacy import progress
from shared.privacy import national_phone
from shared.redact import mask_phone

router = APIRouter(prefix="/v1", tags=["privacy"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid staff token"},
    403: {"description": "Your role may not do this (the message says who may)"},
    404: {"description": "No such task or privacy request (or not your team's task)"},
    422: {"description": "A field is wrong (names the field and the fix)"},
}


class RevealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(None, max_length=200, description="why you need the number (kept in the audit log)")


class PrivacyRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["export", "erasure"]
    phone: str | None = Field(None, max_length=40, description="the resident's phone, any spelling")
    tracking_code: str | None = Field(None, max_length=40, description="or one of the resident's tracking codes")
    reason: str | None = Field(None, max_length=300, description="e.g. the resident's written request of 12/1")


async def reveal(container: Container, actor: Actor, request_id: str, reason: str | None) -> dict[str, Any]:
    """The whole phone of a task's resident, and the audit entry that says who saw it (the console uses it too)."""
    task = await container.service.get_visible(request_id, actor)
    phone = (task.resident or {}).get("phone")
    if not phone:
        raise HTTPException(404, "this task has no phone: the resident gave none, or it was erased")
    entry = await container.privacy.store.log_access(
        at=container.clock(),
        actor=actor.username,
        role=actor.role,
        action="reveal_phone",
        task_id=task.id,
        tracking_code=task.tracking_code,
        subject=mask_phone(str(phone)),
        reason=(reason or "").strip() or None,
        assignee=task.assignee == actor.username,
    )
    return {"phone": phone, "task_id": task.id, "audit_id": entry["_id"], "revealed_at": entry["at"]}


@router.post("/tasks/{request_id}/reveal-phone", summary="The resident's whole phone (the access is logged)",
             responses=ERRORS)  # fmt: skip
async def reveal_phone(
    request_id: str,
    actor: CurrentActor,
    container: ContainerDep,
    body: Annotated[RevealIn, Body(default_factory=RevealIn)],
) -> dict[str, Any]:
    return await reveal(container, actor, request_id, body.reason)


def _entry(doc: dict[str, Any]) -> dict[str, Any]:
    return {"id": doc["_id"], **{k: v for k, v in doc.items() if k != "_id"}}


@router.get("/privacy/audit", summary="Who saw or moved personal data (supervisors, admins)", responses=ERRORS)
async def audit(
    actor: CurrentActor,
    container: ContainerDep,
    task: Annotated[str | None, Query(max_length=80, description="one task's entries")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    require(actor, "supervisor", "admin")
    entries = await container.privacy.store.access_log(limit, task_id=task)
    return {"items": [_entry(e) for e in entries]}


async def start_request(
    container: Container, actor: Actor, kind: str, phone: str | None, code: str | None, reason: str | None
) -> dict[str, Any]:
    """Check whose data is meant, store the request with its event, log it. Raises Invalid naming the field."""
    phone, code = (phone or "").strip() or None, (code or "").strip().upper() or None
    if phone is None and code is None:
        raise Invalid("phone", "give the resident's phone, or one of their tracking codes (`tracking_code`)")
    if phone is not None and len(national_phone(phone) or "") < 7:
        raise Invalid("phone", "not a phone number: a mobile such as 13800138000, or a landline with its area code")
    codes: list[str] = []
    if code is not None:
        task = await container.store.find(code)
        if task is None:
            raise Invalid("tracking_code", "no request has this tracking code; check it with the resident")
        codes = [task.tracking_code]
        phone = phone or (task.resident or {}).get("phone")  # every request of the same resident
    doc = await container.privacy.request(kind, phone=phone, tracking_codes=codes, by=actor.username, reason=reason)
    await container.privacy.store.log_access(
        at=container.clock(),
        actor=actor.username,
        role=actor.role,
        action=f"{kind}_requested",
        privacy_id=doc["_id"],
        subject=doc.get("subject") or ", ".join(codes),
        reason=reason,
    )
    return progress(doc)


@router.post("/privacy/requests", status_code=202, summary="Export or erase one resident's data (admins)",
             responses=ERRORS)  # fmt: skip
async def create_request(body: PrivacyRequestIn, actor: CurrentActor, container: ContainerDep) -> dict[str, Any]:
    require(actor, "admin")
    return await start_request(container, actor, body.kind, body.phone, body.tracking_code, body.reason)


@router.get("/privacy/requests", summary="Privacy requests, newest first (admins)", responses=ERRORS)
async def list_requests(
    actor: CurrentActor, container: ContainerDep, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> dict[str, Any]:
    require(actor, "admin")
    return {"items": [progress(d) for d in await container.privacy.store.list_requests(limit)]}


async def _request(container: Container, privacy_id: str) -> dict[str, Any]:
    doc = await container.privacy.store.get_request(privacy_id)
    if doc is None:
        raise HTTPException(404, f"no privacy request {privacy_id!r}")
    return doc


@router.get("/privacy/requests/{privacy_id}", summary="One privacy request: the services done (admins)",
            responses=ERRORS)  # fmt: skip
async def get_request(privacy_id: str, actor: CurrentActor, container: ContainerDep) -> dict[str, Any]:
    require(actor, "admin")
    return progress(await _request(container, privacy_id))


async def export_file(container: Container, actor: Actor, privacy_id: str) -> tuple[str, bytes]:
    """The export as one JSON document (file name, bytes); the download is logged."""
    doc = await _request(container, privacy_id)
    if doc["kind"] != "export":
        raise Invalid("privacy_id", "this is an erasure request; it has no export to download")
    parts = await container.privacy.store.export_parts(privacy_id)
    body = {
        **progress(doc),
        "data": {p["service"]: p["documents"] for p in parts},
    }
    await container.privacy.store.log_access(
        at=container.clock(),
        actor=actor.username,
        role=actor.role,
        action="export_downloaded",
        privacy_id=privacy_id,
        subject=doc.get("subject"),
    )
    content = json.dumps(body, ensure_ascii=False, indent=1, default=str).encode()
    return f"huiying-export-{privacy_id}.json", content


@router.get("/privacy/requests/{privacy_id}/export", summary="Download the export as JSON (admins; logged)",
            responses={**ERRORS, 200: {"content": {"application/json": {}}}})  # fmt: skip
async def download_export(privacy_id: str, actor: CurrentActor, container: ContainerDep) -> Response:
    require(actor, "admin")
    name, content = await export_file(container, actor, privacy_id)
    return Response(
        content, media_type="application/json", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
