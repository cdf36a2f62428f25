"""Open311 GeoReport v2 against the real app, read back the way an Open311 client reads it: XML parsed
with an XML parser (root, item elements, text), JSON with a JSON parser, and the two compared."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.integration.intake.conftest import dispatched, play, stored
from tests.support import eventually

BASE = "/open311/v2"
FORM = {
    "api_key": "dev-web-key",
    "jurisdiction_id": "huiying.local",
    "service_code": "property_repair",
    "lat": "39.9042",
    "long": "116.4074",
    "address_string": "幸福路8号3号楼",
    "email": "li@example.org",
    "device_id": "dev-123",
    "account_id": "acct-9",
    "first_name": "明",
    "last_name": "李",
    "phone": "13912345678",
    "description": "楼道灯坏了\n晚上很黑",
    "media_url": "https://example.org/light.jpg",
    "attribute[place]": "stairwell",
}


def items(body: bytes, root: str, item: str) -> list[dict[str, Any]]:
    """An Open311 XML list as a client reads it: <root><item><field>text</field>...</item>...</root>."""
    assert body.startswith(b"<?xml version='1.0' encoding='UTF-8'?>") or body.startswith(b'<?xml version="1.0"')
    tree = ET.fromstring(body)
    assert tree.tag == root, tree.tag
    out = []
    for element in tree:
        assert element.tag == item
        out.append({child.tag: child for child in element})
    return out


def text(element: ET.Element | None) -> str | None:
    return None if element is None else element.text


async def post_form(client: Any, fmt: str, form: dict[str, Any], **kwargs: Any) -> Any:
    return await client.post(f"{BASE}/requests.{fmt}", data=form, **kwargs)


async def test_discovery_services_and_definitions_in_both_formats(run_service: Any) -> None:
    async with run_service("intake") as (client, _app):
        d_json = (await client.get(f"{BASE}/discovery.json")).json()
        d_xml = ET.fromstring((await client.get(f"{BASE}/discovery.xml")).content)
        assert d_xml.tag == "discovery"
        endpoint = d_json["endpoints"][0]
        assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
        assert endpoint["url"].endswith("/open311/v2")
        assert [f.text for f in d_xml.iter("format")] == endpoint["formats"] == ["text/xml", "application/json"]

        r_xml = await client.get(f"{BASE}/services.xml", headers={"Accept-Language": "en"})
        assert r_xml.headers["content-type"] == "text/xml; charset=utf-8"
        r_json = await client.get(f"{BASE}/services.json", headers={"Accept-Language": "en"})
        assert r_json.headers["content-type"].startswith("application/json")
        from_xml = items(r_xml.content, "services", "service")
        from_json = r_json.json()
        assert len(from_xml) == len(from_json) == 11
        for x, j in zip(from_xml, from_json, strict=True):
            assert text(x["service_code"]) == j["service_code"]
            assert text(x["service_name"]) == j["service_name"]
            assert text(x["metadata"]) == ("true" if j["metadata"] else "false")
            assert text(x["type"]) == j["type"] == "realtime"
            assert text(x["group"]) == j["group"]
        assert from_json[0]["service_name"] == "Property repair"
        zh = (await client.get(f"{BASE}/services.json")).json()
        assert zh[0]["service_name"] == "物业报修"  # Simplified Chinese by default
        # Metadata for at least half of the ten kinds: each asks something specific.
        assert sum(1 for s in from_json if s["metadata"]) >= 6

        definition = (await client.get(f"{BASE}/services/property_repair.json")).json()
        tree = ET.fromstring((await client.get(f"{BASE}/services/property_repair.xml")).content)
        assert tree.tag == "service_definition" and tree.findtext("service_code") == "property_repair"
        x_attrs = tree.findall("attributes/attribute")
        assert len(x_attrs) == len(definition["attributes"]) >= 3
        first = definition["attributes"][0]
        assert first["code"] == "place" and first["datatype"] == "singlevaluelist" and first["order"] == 1
        assert x_attrs[0].findtext("code") == "place" and x_attrs[0].findtext("variable") == "true"
        assert [v.findtext("key") for v in x_attrs[0].findall("values/value")] == [v["key"] for v in first["values"]]
        assert x_attrs[3].findtext("datatype") == "datetime"

        missing = await client.get(f"{BASE}/services/pothole.xml")
        assert missing.status_code == 404
        errors = ET.fromstring(missing.content)
        assert errors.tag == "errors" and errors.findtext("error/code") == "404"
        assert "pothole" in errors.findtext("error/description")
        assert (await client.get(f"{BASE}/services/pothole.json")).json()[0]["code"] == 404
        bad_format = await client.get(f"{BASE}/services.yaml")
        assert bad_format.status_code == 400 and ET.fromstring(bad_format.content).tag == "errors"


async def test_post_request_then_read_it_back_without_personal_data(run_service: Any, listen: Any) -> None:
    async with run_service("intake") as (client, app), listen(app) as heard:
        r = await post_form(client, "xml", FORM)
        assert r.status_code == 201, r.text
        [created] = items(r.content, "service_requests", "request")
        rid = text(created["service_request_id"])
        assert rid and "token" not in created
        assert text(created["account_id"]) == "acct-9"
        assert "HY" in text(created["service_notice"])  # the receipt carries the tracking code

        events = await eventually(lambda: heard.of("request.submitted", rid), what="request.submitted")
        data = events[0].data
        assert data["resident"]["name"] == "李明"  # family name first for Chinese names
        assert data["resident"]["phone"] == "+8613912345678"
        assert data["location"]["lat"] == 39.9042 and data["location"]["address"] == "幸福路8号3号楼"
        assert data["attributes"] == {"place": "stairwell"}
        assert data["media_urls"] == ["https://example.org/light.jpg"]
        assert data["description"] == "楼道灯坏了\n晚上很黑"

        one_json = (await client.get(f"{BASE}/requests/{rid}.json")).json()
        [one_xml] = items((await client.get(f"{BASE}/requests/{rid}.xml")).content, "service_requests", "request")
        [view] = one_json
        assert view["service_request_id"] == rid and view["status"] == "open"
        assert view["address"] == "幸福路8号3号楼" and view["lat"] == 39.9042  # a facility problem: public
        assert view["media_url"] == "https://example.org/light.jpg"
        assert view["requested_datetime"].endswith("+08:00")  # datetimes carry their zone
        for key, value in view.items():
            assert text(one_xml[key]) == (None if value is None else str(value)), key
        everything = str(one_json) + (await client.get(f"{BASE}/requests/{rid}.xml")).text
        for secret in ("13912345678", "li@example.org", "李明", "acct-9", "dev-123"):
            assert secret not in everything

        # Routing's events feed status_notes, agency_responsible and expected_datetime.
        due = datetime(2030, 5, 1, 1, 0, tzinfo=UTC)
        await play(app, dispatched(rid, data["tracking_code"], seq=1, due=due))

        async def agency() -> Any:
            [v] = (await client.get(f"{BASE}/requests/{rid}.json", headers={"Accept-Language": "en"})).json()
            return v if v["agency_responsible"] else None

        view = await eventually(agency, what="agency_responsible")
        assert view["agency_responsible"] == "Property maintenance"
        assert view["status_notes"] == "已派给物业维修组"
        assert view["expected_datetime"] == "2030-05-01T09:00:00+08:00"

        token = (await client.get(f"{BASE}/tokens/{data['tracking_code']}.json")).json()
        assert token == [{"service_request_id": rid, "token": data["tracking_code"]}]
        assert (await client.get(f"{BASE}/tokens/HY0000000000.json")).status_code == 404


async def test_private_kinds_show_only_category_and_status(run_service: Any) -> None:
    async with run_service("intake") as (client, _app):
        form = {**FORM, "service_code": "care_visit", "description": "独居老人需要探访"}
        form.pop("attribute[place]")
        form["attribute[household][]"] = ["elderly_alone", "disabled"]
        r = await post_form(client, "json", form)
        assert r.status_code == 201, r.text
        rid = r.json()[0]["service_request_id"]
        [view] = (await client.get(f"{BASE}/requests/{rid}.json")).json()
        assert view["service_code"] == "care_visit"
        assert view["description"] is None and view["address"] is None and view["lat"] is None
        assert "独居老人" not in str(view)


async def test_multivaluelist_attributes(run_service: Any, listen: Any) -> None:
    async with run_service("intake") as (client, app), listen(app) as heard:
        form = {
            "api_key": "dev-web-key",
            "service_code": "volunteer_service",
            "address_string": "5号楼",
            "last_name": "张",  # volunteers need to know whom they help: this kind takes no anonymous requests
            "attribute[help_with][]": ["shopping", "company"],
            "attribute[preferred_time]": "2030-01-02T10:00:00+08:00",
        }
        r = await post_form(client, "json", form)
        assert r.status_code == 201, r.text
        rid = r.json()[0]["service_request_id"]
        events = await eventually(lambda: heard.of("request.submitted", rid), what="request.submitted")
        assert events[0].data["attributes"] == {
            "help_with": ["shopping", "company"],
            "preferred_time": "2030-01-02T10:00:00+08:00",
        }


async def test_errors_are_the_spec_body_with_403_404_400(run_service: Any) -> None:
    async with run_service("intake") as (client, app):

        async def error(fmt: str, form: dict[str, Any], status: int) -> str:
            r = await post_form(client, fmt, form)
            assert r.status_code == status, r.text
            if fmt == "json":
                [err] = r.json()[:1]
                assert err["code"] == status
                return " ".join(e["description"] for e in r.json())
            tree = ET.fromstring(r.content)
            assert tree.tag == "errors" and tree.findtext("error/code") == str(status)
            return " ".join(e.findtext("description") or "" for e in tree.findall("error"))

        no_key = {k: v for k, v in FORM.items() if k != "api_key"}
        assert "api_key" in await error("xml", no_key, 403)
        assert "api_key" in await error("json", {**FORM, "api_key": "wrong"}, 403)
        assert "service_code" in await error("json", {**FORM, "service_code": "pothole"}, 404)
        assert "service_code" in await error("xml", {k: v for k, v in FORM.items() if k != "service_code"}, 400)
        assert "lat" in await error("json", {**FORM, "lat": "north"}, 400)
        assert "lat" in await error("json", {**FORM, "lat": "95"}, 400)
        no_where = {k: v for k, v in FORM.items() if k not in ("lat", "long", "address_string")}
        assert "location" in await error("json", no_where, 400)
        assert "long" in await error("json", {k: v for k, v in FORM.items() if k != "long"}, 400)
        assert "phone" in await error("json", {**FORM, "phone": "123"}, 400)
        assert "email" in await error("json", {**FORM, "email": "nope"}, 400)
        assert "description" in await error("json", {**FORM, "description": "x" * 4001}, 400)
        assert "colour" in await error("json", {**FORM, "colour": "red"}, 400)
        assert "attribute[place]" in await error("json", {**FORM, "attribute[place]": "garage"}, 400)
        assert "attribute[kind]" in await error("json", {**FORM, "service_code": "emergency"}, 400)
        assert "once" in await error("json", {**FORM, "phone": ["13912345678", "13912345679"]}, 400)
        # Several problems at once: all of them listed.
        assert "phone" in (both := await error("json", {**FORM, "phone": "1", "email": "x"}, 400)) and "email" in both
        r = await client.post(f"{BASE}/requests.json", json={"api_key": "dev-web-key"})
        assert r.status_code == 400 and "form-encoded" in r.json()[0]["description"]
        # What FastAPI would answer 422 is 400 here.
        r = await client.get(f"{BASE}/requests.json", params={"page": "zero"})
        assert r.status_code == 400 and r.json()[0]["code"] == 400 and "page" in r.json()[0]["description"]
        assert (await client.get(f"{BASE}/requests/nope.xml")).status_code == 404
        assert await stored(app) == 0


async def test_jurisdiction_is_checked_when_configured(run_service: Any) -> None:
    async with run_service("intake", open311_jurisdiction_id="huiying.local") as (client, _app):
        assert (
            await client.get(f"{BASE}/services.json", params={"jurisdiction_id": "huiying.local"})
        ).status_code == 200
        r = await client.get(f"{BASE}/services.json", params={"jurisdiction_id": "sfgov.org"})
        assert r.status_code == 404 and "jurisdiction_id" in r.json()[0]["description"]
        r = await post_form(client, "json", {**FORM, "jurisdiction_id": "sfgov.org"})
        assert r.status_code == 404


async def test_get_requests_filters_dates_status_and_pages(run_service: Any) -> None:
    async with run_service("intake") as (client, app):
        codes = []
        for i in range(3):
            form = {**FORM, "description": f"第{i}盏灯坏了"}
            codes.append((await post_form(client, "json", form)).json()[0]["service_request_id"])
        legal = {k: v for k, v in FORM.items() if not k.startswith("attribute")}
        legal_id = (await post_form(client, "json", {**legal, "service_code": "legal_aid"})).json()[0]
        gas = {**legal, "service_code": "enquiry_complaint", "description": "楼道里有一股煤气味，好像燃气泄漏了"}
        gas_id = (await post_form(client, "json", gas)).json()[0]["service_request_id"]

        everything = (await client.get(f"{BASE}/requests.json")).json()
        assert {v["service_request_id"] for v in everything} == {*codes, legal_id["service_request_id"], gas_id}
        requested = [v["requested_datetime"] for v in everything]
        assert requested == sorted(requested, reverse=True)  # newest first

        repairs = (await client.get(f"{BASE}/requests.json", params={"service_code": "property_repair"})).json()
        assert {v["service_request_id"] for v in repairs} == set(codes)
        closed = (await client.get(f"{BASE}/requests.json", params={"status": "closed"})).json()
        assert [v["service_request_id"] for v in closed] == [gas_id]  # not accepted: closed
        open_ = (await client.get(f"{BASE}/requests.json", params={"status": "open"})).json()
        assert len(open_) == 4
        both = (await client.get(f"{BASE}/requests.json", params={"status": "open,closed"})).json()
        assert len(both) == 5
        page1 = (await client.get(f"{BASE}/requests.json", params={"page_size": 2})).json()
        page3 = (await client.get(f"{BASE}/requests.json", params={"page_size": 2, "page": 3})).json()
        assert len(page1) == 2 and len(page3) == 1
        picked = (
            await client.get(f"{BASE}/requests.xml", params={"service_request_id": f"{codes[0]},{gas_id},unknown"})
        ).content
        assert {text(i["service_request_id"]) for i in items(picked, "service_requests", "request")} == {
            codes[0],
            gas_id,
        }

        now = datetime.now(UTC)
        window = {
            "start_date": (now - timedelta(hours=1)).isoformat(),
            "end_date": (now + timedelta(hours=1)).isoformat(),
        }
        assert len((await client.get(f"{BASE}/requests.json", params=window)).json()) == 5
        past = {"start_date": "2020-01-01T00:00:00Z", "end_date": "2020-02-01T00:00:00Z"}
        assert (await client.get(f"{BASE}/requests.json", params=past)).json() == []
        too_long = {"start_date": "2020-01-01T00:00:00Z", "end_date": "2020-06-01T00:00:00Z"}
        r = await client.get(f"{BASE}/requests.json", params=too_long)
        assert r.status_code == 400 and "90 days" in r.json()[0]["description"]
        r = await client.get(f"{BASE}/requests.json", params={"start_date": "2020-01-01T00:00:00"})
        assert r.status_code == 400 and "time zone" in r.json()[0]["description"]
        r = await client.get(f"{BASE}/requests.xml", params={"status": "pending"})
        assert r.status_code == 400 and ET.fromstring(r.content).tag == "errors"
        assert (await client.get(f"{BASE}/requests.json", params={"service_code": "pothole"})).status_code == 404
        assert await stored(app) == 5


async def test_emergency_is_not_accepted_with_a_referral(run_service: Any, listen: Any) -> None:
    async with run_service("intake") as (client, app), listen(app) as heard:
        form = {
            "api_key": "dev-web-key",
            "service_code": "emergency",
            "address_string": "7号楼",
            "phone": "13912345678",
            "attribute[kind]": "medical",
        }
        r = await post_form(client, "xml", form, headers={"Accept-Language": "en"})
        assert r.status_code == 201, r.text
        [created] = items(r.content, "service_requests", "request")
        assert "120" in text(created["service_notice"]) and "ambulance" in text(created["service_notice"])
        rid = text(created["service_request_id"])
        events = await eventually(lambda: heard.of("request.not_accepted", rid), what="request.not_accepted")
        assert events[0].data["reason_code"] == "medical" and events[0].data["referral_number"] == "120"
        assert "120" in events[0].data["referral"]["zh-CN"]
        assert heard.of("request.submitted", rid) == []  # routing never gets it as work
        [view] = (await client.get(f"{BASE}/requests/{rid}.json")).json()
        assert view["status"] == "closed" and "120" in view["service_notice"]
