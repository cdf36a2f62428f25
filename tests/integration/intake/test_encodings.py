"""Bodies arrive as the client meant them, whatever it sent: raw UTF-8 (curl -d, many HTTP libraries),
percent-encoded UTF-8 (browsers), GB18030/GBK named in the Content-Type (older Chinese systems), through
Open311 and the native API; bytes that are not text in the declared charset answer 400 naming the field,
and nothing is stored. The README's and docs/intake.md's curl examples are run as curl sends them."""

from __future__ import annotations

import json
import re
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from services.intake.api.open311.form import resident_name
from tests.integration.intake.conftest import REQUEST, WEB, stored

ROOT = Path(__file__).resolve().parents[3]
BASE = "/open311/v2"
FORM_TYPE = "application/x-www-form-urlencoded"
SUBMIT = re.compile(r"(?<!/privacy)/requests(\.json|\.xml)?$")  # intake's submitting URLs (not cancel, not feedback)
SENT = {
    "address_string": "幸福路8号3号楼",
    "description": "楼道灯坏了，晚上很黑",
    "first_name": "明",
    "last_name": "李",
}


def raw_form(fields: dict[str, str], charset: str = "utf-8") -> bytes:
    """The form as curl -d sends it: names and values as bytes of the charset, not percent-encoded."""
    return b"&".join(f"{k}=".encode() + v.encode(charset) for k, v in fields.items())


def percent_form(fields: dict[str, str], charset: str = "utf-8") -> bytes:
    return "&".join(f"{k}={quote_plus(v, encoding=charset)}" for k, v in fields.items()).encode()


def open311_fields(service_code: str = "property_repair") -> dict[str, str]:
    return {"api_key": "dev-web-key", "service_code": service_code, **SENT}


async def open311_stored(client: Any, app: Any, body: bytes, content_type: str, fmt: str = "json") -> dict[str, Any]:
    r = await client.post(f"{BASE}/requests.{fmt}", content=body, headers={"Content-Type": content_type})
    assert r.status_code == 201, r.text
    rid = r.json()[0]["service_request_id"] if fmt == "json" else ET.fromstring(r.content)[0][0].text
    return await app.state.container.service.get(rid)  # type: ignore[no-any-return]


def assert_as_sent(doc: dict[str, Any]) -> None:
    assert doc["description"] == SENT["description"]
    assert doc["location"]["address"] == SENT["address_string"]
    assert doc["resident"]["name"] == "李明"


@pytest.mark.parametrize(
    ("encode", "charset", "declared"),
    [
        (raw_form, "utf-8", None),  # curl -d, requests with bytes
        (percent_form, "utf-8", None),  # browsers, --data-urlencode
        (raw_form, "utf-8", "UTF-8"),
        (raw_form, "gbk", "GBK"),
        (percent_form, "gbk", "GBK"),
        (raw_form, "gb18030", "GB18030"),
        (raw_form, "gb2312", "gb2312"),
    ],
)
async def test_open311_forms_arrive_as_sent(run_service: Any, encode: Any, charset: str, declared: str | None) -> None:
    content_type = FORM_TYPE + (f"; charset={declared}" if declared else "")
    async with run_service("intake") as (client, app):
        for fmt in ("json", "xml"):
            assert_as_sent(await open311_stored(client, app, encode(open311_fields(), charset), content_type, fmt))


async def test_raw_utf8_reaches_emergency_triage(run_service: Any) -> None:
    """Mojibake used to escape triage: a raw UTF-8 gas leak must be referred to 119 at once."""
    async with run_service("intake") as (client, app):
        fields = {**open311_fields(), "description": "楼道里有煤气泄漏的味道"}
        r = await client.post(f"{BASE}/requests.json", content=raw_form(fields), headers={"Content-Type": FORM_TYPE})
        assert r.status_code == 400 and "rule gas_leak" in r.json()[0]["description"], r.text
        assert "Call 119 now" in r.json()[0]["description"]
        confirmed = raw_form({**fields, "confirm_not_emergency": "true"})
        r = await client.post(f"{BASE}/requests.json", content=confirmed, headers={"Content-Type": FORM_TYPE})
        doc = await app.state.container.service.get(r.json()[0]["service_request_id"])
        assert doc["emergency_overridden"] == "gas_leak" and doc["description"] == fields["description"]


@pytest.mark.parametrize(
    ("encode", "content_type"),
    [
        (lambda body: json.dumps(body, ensure_ascii=False).encode(), "application/json"),
        (lambda body: json.dumps(body).encode(), "application/json"),  # \\u escapes
        (lambda body: json.dumps(body, ensure_ascii=False).encode("gbk"), "application/json; charset=GBK"),
        (lambda body: json.dumps(body, ensure_ascii=False).encode("gb18030"), "application/json; charset=gb18030"),
    ],
)
async def test_native_json_arrives_as_sent(run_service: Any, encode: Any, content_type: str) -> None:
    async with run_service("intake") as (client, app):
        r = await client.post("/v1/requests", content=encode(REQUEST), headers={**WEB, "Content-Type": content_type})
        assert r.status_code == 201, r.text
        doc = await app.state.container.service.get(r.json()["id"])
        assert doc["description"] == REQUEST["description"]
        assert doc["location"]["unit"] == REQUEST["location"]["unit"]
        assert doc["resident"]["name"] == REQUEST["resident"]["name"]


async def test_bytes_that_are_not_text_are_refused_naming_the_field(run_service: Any) -> None:
    async with run_service("intake") as (client, app):
        not_utf8 = raw_form(open311_fields()) + "&description=灯坏了".encode("gbk")  # GBK bytes, no charset named
        r = await client.post(f"{BASE}/requests.json", content=not_utf8, headers={"Content-Type": FORM_TYPE})
        assert r.status_code == 400, r.text
        [error] = r.json()
        assert error["description"].startswith("description: bytes") and "charset=GB18030" in error["description"]
        r = await client.post(f"{BASE}/requests.xml", content=not_utf8, headers={"Content-Type": FORM_TYPE})
        assert r.status_code == 400 and b"<errors>" in r.content and b"description" in r.content

        fields = {k: v for k, v in open311_fields().items() if k != "description"}
        broken_gbk = raw_form(fields, "gbk") + b"&description=%81"  # a GBK lead byte with nothing after it
        r = await client.post(
            f"{BASE}/requests.json", content=broken_gbk, headers={"Content-Type": FORM_TYPE + "; charset=GBK"}
        )
        assert r.status_code == 400 and r.json()[0]["description"].startswith("description:"), r.text

        body = json.dumps(REQUEST, ensure_ascii=False).encode("utf-8")  # UTF-8 bytes declared as GBK
        r = await client.post(
            "/v1/requests", content=body, headers={**WEB, "Content-Type": "application/json; charset=gbk"}
        )
        assert r.status_code == 400 and r.json()["message"].startswith("body: bytes"), r.text
        r = await client.post(
            "/v1/requests", content=b'{"description": "\xff"}', headers={**WEB, "Content-Type": "application/json"}
        )
        assert 400 <= r.status_code < 500 and r.status_code != 413, r.text
        r = await client.post(
            "/v1/requests", content=body, headers={**WEB, "Content-Type": "application/json; charset=klingon"}
        )
        assert r.status_code == 415 and "klingon" in r.json()["message"]
        assert await stored(app) == 0


# -- the documented curl examples, sent as curl sends them ---------------------------------------------------


def curl_commands(markdown: str) -> list[list[str]]:
    """Every `curl ... -X POST` in the file's code blocks, continuation lines joined, split as the shell does."""
    blocks = re.findall(r"```(?:sh|bash)\n(.*?)```", markdown, re.S)
    commands = []
    for block in blocks:
        pending = ""
        for line in re.sub(r"\\\n\s*", " ", block).splitlines():
            pending = f"{pending}\n{line}" if pending else line
            try:
                words = shlex.split(pending, comments=True)
            except ValueError:
                continue  # a quoted body goes on over the next line, as in the shell
            if words and re.fullmatch(r"\w+=\$\(curl", words[0]):  # CODE=$(curl ... | python3 ...): the curl
                words = ["curl", *words[1 : words.index("|") if "|" in words else None]]
            if words[:1] == ["curl"] and "POST" in words and any(SUBMIT.search(w) for w in words):
                commands.append(words)
            pending = ""
    return commands


def as_curl_sends(args: list[str]) -> tuple[str, dict[str, str], bytes, list[tuple[str, str]]]:
    """(url, headers, body, the fields as meant). -d is sent as typed; --data-urlencode encodes the value."""
    url, headers, parts, meant = "", {}, [], []
    items = iter(args[1:])
    for arg in items:
        if arg in ("-s", "-X"):
            next(items) if arg == "-X" else None
        elif arg == "-H":
            name, _, value = next(items).partition(":")
            headers[name.strip()] = value.strip()
        elif arg == "-d":
            data = next(items)
            parts.append(data.encode())
            if not data.startswith("{"):
                meant.append(tuple(data.split("=", 1)))  # type: ignore[arg-type]
        elif arg == "--data-urlencode":
            name, _, value = next(items).partition("=")
            parts.append(f"{name}={quote(value, safe='')}".encode())
            meant.append((name, value))
        else:
            url = arg
    headers.setdefault("Content-Type", FORM_TYPE)
    return url, headers, b"&".join(parts), meant


def documented() -> list[tuple[str, list[str]]]:
    found = [(doc, cmd) for doc in ("README.md", "docs/intake.md") for cmd in curl_commands((ROOT / doc).read_text())]
    assert len(found) >= 6, found  # the native and Open311 examples of both files
    return found


@pytest.mark.parametrize(("doc", "command"), documented(), ids=lambda v: v if isinstance(v, str) else v[-1][:30])
async def test_the_documented_curl_examples_store_what_they_send(
    run_service: Any, doc: str, command: list[str]
) -> None:
    url, headers, body, meant = as_curl_sends(command)
    path = re.sub(r"^(https?://[^/]+|\$O)", lambda m: BASE if m.group(0) == "$O" else "", url)
    async with run_service("intake") as (client, app):
        r = await client.post(path, content=body, headers=headers)
        assert r.status_code == 201, (doc, r.text)
        if path.startswith("/v1/"):
            sent = json.loads(body)
            doc_ = await app.state.container.service.get(r.json()["id"])
            assert doc_["description"] == sent["description"]
            assert {k: doc_["location"][k] for k in sent["location"]} == sent["location"]
            assert doc_["resident"]["name"] == sent["resident"]["name"]
            return
        rid = r.json()[0]["service_request_id"] if path.endswith(".json") else ET.fromstring(r.content)[0][0].text
        doc_ = await app.state.container.service.get(rid)
        fields = dict(meant)
        assert doc_["location"]["address"] == fields["address_string"]
        assert doc_["description"] == fields.get("description", "")
        assert doc_["resident"]["name"] == resident_name(fields.get("first_name"), fields.get("last_name"))
        for name, value in meant:
            if match := re.fullmatch(r"attribute\[(\w+)\](\[\])?", name):
                answer = doc_["attributes"][match.group(1)]
                assert value in answer if match.group(2) else answer == value
