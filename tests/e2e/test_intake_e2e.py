"""End to end: intake's front doors against the stack as OS processes (what `make run` starts), driven
over HTTP as an Open311 client and a native front end would."""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import httpx

from huiying.stack import Stack
from tests.e2e.conftest import dump_logs
from tests.support import wait_sync


def test_open311_client_files_and_follows_a_request(stack: Stack) -> None:
    intake = stack.url("intake")
    with httpx.Client(timeout=10) as http:
        services = ET.fromstring(http.get(f"{intake}/open311/v2/services.xml").content)
        assert "property_repair" in [s.findtext("service_code") for s in services.findall("service")]
        form = {
            "api_key": "dev-web-key",
            "service_code": "property_repair",
            "address_string": "幸福路8号3号楼",
            "lat": "39.9",
            "long": "116.4",
            "description": "楼道灯不亮",
            "attribute[place]": "stairwell",
            "phone": "13800138000",
        }
        created = http.post(f"{intake}/open311/v2/requests.xml", data=form)
        assert created.status_code == 201, created.text
        rid = ET.fromstring(created.content).findtext("request/service_request_id")
        assert rid

        def dispatched() -> bytes | None:
            body = http.get(f"{intake}/open311/v2/requests/{rid}.xml").content
            return body if ET.fromstring(body).findtext("request/agency_responsible") else None

        tree = ET.fromstring(wait_sync(dispatched, timeout=30, what=f"agency_responsible\n{dump_logs(stack)}"))
        assert tree.findtext("request/status") == "open"
        assert tree.findtext("request/requested_datetime").endswith("+08:00")
        [view] = http.get(f"{intake}/open311/v2/requests/{rid}.json").json()
        assert view["agency_responsible"] == tree.findtext("request/agency_responsible")
        assert "13800138000" not in str(view)


def test_native_emergency_cancel_and_errors(stack: Stack) -> None:
    intake = stack.url("intake")
    body = {
        "service_code": "enquiry_complaint",
        "description": "楼道里有一股煤气味，好像燃气泄漏了",
        "location": {"building": "7号楼"},
        "resident": {"name": "赵先生", "phone": "13912345678"},
    }
    with httpx.Client(timeout=10) as http:
        refused = http.post(f"{intake}/v1/requests", json=body, headers={"X-API-Key": "dev-web-key"})
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"] == "emergency_referral" and refused.json()["referral"]["call"] == "119"

        ok = http.post(
            f"{intake}/v1/requests",
            json={**body, "description": "想咨询养老政策"},
            headers={"X-API-Key": "dev-web-key", "Idempotency-Key": "e2e-1"},
        ).json()
        cancelled = http.post(f"{intake}/v1/requests/{ok['id']}/cancel", json={"tracking_code": ok["tracking_code"]})
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        assert http.get(f"{intake}/v1/track/{ok['tracking_code']}").json()["status"] == "cancelled"

        bad = http.post(f"{intake}/v1/requests", json={**body, "colour": "red"}, headers={"X-API-Key": "dev-web-key"})
        assert bad.status_code == 422 and bad.json()["fields"][0]["field"] == "colour"


def test_a_huge_declared_body_is_refused_before_it_is_sent(stack: Stack) -> None:
    """413 comes back on the headers alone: the client never sends the 100 MB it announced."""
    url = urlsplit(stack.url("intake"))
    with socket.create_connection((url.hostname, url.port), timeout=10) as conn:
        conn.sendall(
            b"POST /v1/requests HTTP/1.1\r\nHost: intake\r\nContent-Type: application/json\r\n"
            b"X-API-Key: dev-web-key\r\nContent-Length: 100000000\r\n\r\n"
        )
        answer = conn.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
