"""Routing's HTTP API (v1)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

router = APIRouter(prefix="/v1", tags=["teams"])


@router.get("/teams", summary="The staff teams")
async def list_teams(request: Request) -> dict[str, Any]:
    directory = request.app.state.directory
    return {"teams": [{"id": t.id, "name": t.name} for t in directory.teams]}
