"""An Open311 client library from PyPI, unchanged, against intake served by uvicorn on a free port (real
RabbitMQ, embedded MongoDB): `georeport` (GeoReport v2 over `requests`, JSON and XML via xmltodict) reads
the catalogue and the requests. georeport does not file requests, so they are filed with `requests`, the HTTP
library it is built on, the way GeoReport clients post: form-encoded, percent-encoded UTF-8 (`data=dict`)
or raw UTF-8 bytes (`data=bytes`); what georeport reads back must be exactly what was sent."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import requests
from georeport import GeoReport

from services.intake.app import create_app
from services.intake.config import IntakeSettings
from tests.support import ServerThread, free_port

FORM = {"api_key": "dev-web-key", "service_code": "property_repair", "address_string": "幸福路8号3号楼"}


def file(root: str, description: str, *, raw: bool) -> str:
    fields = {**FORM, "description": description}
    if raw:  # as curl -d and many libraries send it: UTF-8 bytes, not percent-encoded
        body = "&".join(f"{k}={v}" for k, v in fields.items()).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        r = requests.post(f"{root}/requests.json", data=body, headers=headers, timeout=30)
    else:
        r = requests.post(f"{root}/requests.json", data=fields, timeout=30)
    assert r.status_code == 201, r.text
    return str(r.json()[0]["service_request_id"])


def drive(root: str) -> None:
    json_client, xml_client = GeoReport(root), GeoReport(root, output_format="xml")

    services = json_client.get_service_list()
    assert {"service_code": "property_repair", "service_name": "物业报修"}.items() <= services[0].items()
    assert [s["service_code"] for s in xml_client.get_service_list()] == [s["service_code"] for s in services]
    definition = json_client.get_service_definition("property_repair")
    assert "place" in [a["code"] for a in definition["attributes"]]
    assert xml_client.get_service_definition("property_repair")["service_code"] == "property_repair"

    encoded = file(root, "楼道灯坏了（百分号编码）", raw=False)
    raw = file(root, "楼道灯坏了（原始UTF-8）", raw=True)
    for client in (json_client, xml_client):
        assert client.get_service_request(encoded)["description"] == "楼道灯坏了（百分号编码）"
        assert client.get_service_request(raw)["description"] == "楼道灯坏了（原始UTF-8）"
        assert client.get_service_request(raw)["address"] == "幸福路8号3号楼"
    listed = json_client.get_service_requests(service_code="property_repair", status="open")
    assert {encoded, raw} <= {r["service_request_id"] for r in listed}
    mine = xml_client.get_service_requests(service_request_id=f"{encoded},{raw}")
    assert sorted(r["service_request_id"] for r in mine) == sorted([encoded, raw])


async def test_georeport_reads_what_was_filed_unchanged(make_settings: Callable[..., Any]) -> None:
    settings = make_settings(IntakeSettings, rate_limit_per_address=0, rate_limit_per_key=0)
    with ServerThread(create_app(settings), free_port(), name="intake-for-georeport") as server:
        await asyncio.to_thread(drive, f"{server.url}/open311/v2")
