"""The staff console (/console/) and the ledger dashboard (/console/ledger), served by routing.

Server-rendered Jinja2 pages over routing's own service layer, zh-CN by default with an English switch,
signed in with the staff token in an HttpOnly, SameSite=Strict cookie. See docs/routing.md.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from services.routing.console import dashboard, pages
from services.routing.console.base import STATIC, templates
from shared.web import mount_common_static


def install(app: FastAPI) -> None:
    templates()  # a broken message catalogue stops routing at start, not at the first page
    # The static mount comes before the pages' catch-all 404 under /console/.
    app.mount("/console/static", StaticFiles(directory=str(STATIC)), name="console-static")
    mount_common_static(app)
    app.include_router(dashboard.router)
    app.include_router(pages.router)


__all__ = ["install"]
