"""The resident portal, served by intake at `/` (docs/intake.md, "Resident portal"): server-rendered pages
(pages.py) with their templates (web/templates/) and static files (web/static/). The pages read the
container through api/deps.get_container; bootstrap builds their templates once."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from services.intake.web import emergency, pages, servicedays
from shared.web import mount_common_static

router = APIRouter(include_in_schema=False)
router.include_router(pages.router)
router.include_router(emergency.router)  # the call-now page
router.include_router(servicedays.router)  # service days (便民服务日): the days, signing up, a sign-up's page

STATIC = Path(__file__).resolve().parent / "static"

__all__ = ["mount_static", "router"]


def mount_static(app: FastAPI) -> None:
    """The portal's stylesheet and script, and the common stylesheet under it."""
    mount_common_static(app)
    app.mount("/static/portal", StaticFiles(directory=str(STATIC)), name="portal-static")
