"""Unknown query parameters answer 400 naming them (shared/http.py no_unknown_query)."""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, FastAPI, Query

from shared.http import NoUnknownQuery


def paging(page: int = 1, page_size: Annotated[int, Query(alias="page-size")] = 20) -> tuple[int, int]:
    return page, page_size


def make_app() -> FastAPI:
    app = FastAPI()
    router = APIRouter(dependencies=[NoUnknownQuery])

    @router.get("/items")
    async def items(status: str | None = None, paged: tuple[int, int] = Depends(paging)) -> dict[str, object]:
        return {"status": status, "paged": list(paged)}

    app.include_router(router)
    return app


async def get(url: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app()), base_url="http://t") as client:
        return await client.get(url)


async def test_declared_parameters_pass_including_a_dependency_s_and_aliases() -> None:
    answer = await get("/items?status=open&page=2&page-size=5")
    assert answer.status_code == 200 and answer.json() == {"status": "open", "paged": [2, 5]}


async def test_an_unknown_parameter_is_named_in_a_400() -> None:
    answer = await get("/items?status=open&q=水管&updated_after=2026-01-01")
    assert answer.status_code == 400
    detail = answer.json()["detail"]
    assert "q, updated_after" in detail and "page-size" in detail
