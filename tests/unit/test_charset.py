"""Form and JSON bodies arrive as UTF-8 whatever a real client sends (shared/charset.py)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI, Request

from shared.charset import CharsetMiddleware


def make_app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(CharsetMiddleware)

    @app.post("/form")
    async def form(request: Request) -> dict[str, Any]:
        return dict((await request.form()).multi_items())

    @app.post("/json")
    async def as_json(request: Request) -> Any:
        return await request.json()

    return app


async def post(path: str, content: bytes, content_type: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=make_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.post(path, content=content, headers={"content-type": content_type})


FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("address_string=5号楼&description=楼道灯坏了".encode(), FORM),  # raw UTF-8, as `curl -d` sends it
        (f"address_string={quote('5号楼')}&description={quote('楼道灯坏了')}".encode(), FORM),  # percent-encoded
        ("address_string=5号楼&description=楼道灯坏了".encode("gbk"), FORM + "; charset=GBK"),
        (
            f"address_string={quote('5号楼', encoding='gb18030')}&description=楼道灯坏了".encode("gb18030"),
            FORM + "; charset=gb18030",
        ),
        ("address_string=5号楼&description=楼道灯坏了".encode(), FORM + "; charset=UTF-8"),
    ],
    ids=["raw-utf8", "percent-utf8", "raw-gbk", "mixed-gb18030", "declared-utf8"],
)
async def test_form_bodies_arrive_intact(body: bytes, content_type: str) -> None:
    answer = await post("/form", body, content_type)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"address_string": "5号楼", "description": "楼道灯坏了"}


async def test_plus_and_ampersands_keep_their_form_meaning() -> None:
    answer = await post("/form", "a=1+2&b=%2B3&c=水+管".encode(), FORM)
    assert answer.json() == {"a": "1 2", "b": "+3", "c": "水 管"}


async def test_undecodable_form_bytes_answer_400_naming_the_field() -> None:
    answer = await post("/form", b"description=\xff\xfe\xfd&x=1", FORM)
    assert answer.status_code == 400
    assert answer.json()["message"].startswith("description: ")
    assert "charset" in answer.json()["message"]


async def test_an_unknown_charset_answers_415() -> None:
    answer = await post("/form", b"a=1", FORM + "; charset=klingon")
    assert answer.status_code == 415
    assert "klingon" in answer.json()["message"]


async def test_json_in_gbk_is_transcoded() -> None:
    answer = await post("/json", '{"description": "厨房水管漏水"}'.encode("gbk"), "application/json; charset=gbk")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"description": "厨房水管漏水"}


async def test_json_in_utf8_is_untouched() -> None:
    answer = await post("/json", '{"description": "厨房水管漏水"}'.encode(), "application/json")
    assert answer.json() == {"description": "厨房水管漏水"}


async def test_undecodable_json_in_a_declared_charset_answers_400() -> None:
    answer = await post("/json", b'{"d": "\x81"}', "application/json; charset=gbk")
    assert answer.status_code == 400
    assert answer.json()["message"].startswith("body: ")
