"""/docs, /openapi.json and /metrics are closed in prod unless configured (shared/http.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from shared.http import create_service_app
from shared.outbox import utcnow
from shared.settings import Settings
from tests.support import PROD_SECRETS


class Ready:
    async def readiness(self) -> dict[str, bool]:
        return {"database": True, "broker": True}


def app_for(**settings: Any) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.container = Ready()
        yield

    return create_service_app(
        service="t", settings=Settings(**settings), clock=utcnow, lifespan=lifespan, title="t", description="t"
    )


async def status(app: FastAPI, path: str, headers: dict[str, str] | None = None) -> int:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        return (await client.get(path, headers=headers)).status_code


async def test_dev_mode_shows_docs_and_metrics() -> None:
    app = app_for()
    assert [await status(app, p) for p in ("/docs", "/openapi.json", "/metrics", "/healthz")] == [200] * 4


async def test_prod_mode_hides_docs_and_metrics_by_default() -> None:
    app = app_for(mode="prod", **PROD_SECRETS)
    assert [await status(app, p) for p in ("/docs", "/openapi.json", "/metrics")] == [404] * 3
    assert await status(app, "/healthz") == 200


async def test_prod_metrics_with_a_token_and_docs_on_request() -> None:
    app = app_for(mode="prod", metrics_token="m" * 8, public_docs=True, **PROD_SECRETS)
    assert await status(app, "/metrics") == 404
    assert await status(app, "/metrics", {"authorization": "Bearer wrong"}) == 404
    assert await status(app, "/metrics", {"authorization": "Bearer " + "m" * 8}) == 200
    assert await status(app, "/docs") == 200


async def test_docs_work_offline_from_local_assets() -> None:
    app = app_for()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        page = (await client.get("/docs")).text
        assert "/docs-assets/swagger-ui-bundle.js" in page and "cdn." not in page
        script = await client.get("/docs-assets/swagger-ui-bundle.js")
        assert script.status_code == 200 and "SwaggerUIBundle" in script.text[:2000]
        redoc = (await client.get("/redoc")).text
        assert "/docs-assets/redoc.standalone.js" in redoc and "fonts.googleapis" not in redoc
