"""One rule for every front door (native API, Open311, portal): names and anonymity as the kind decides,
query parameters a list does not support refused, Open311's `updated_after` sync, and public Open311 views
that show nothing personal."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.events.tasks import TaskNoted
from tests.integration.intake.conftest import ADMIN, REQUEST, TEAM, WEB, dispatched, play, routing_event, stored
from tests.support import eventually

BASE = "/open311/v2"


def nameless(service_code: str = "property_repair", **changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(REQUEST) | {"service_code": service_code, **changes}
    del body["resident"]["name"]
    if service_code != "property_repair":
        body["attributes"] = {}
    return body


async def test_a_name_is_needed_where_the_kind_says_so_on_every_door(run_service: Any) -> None:
    async with run_service("intake") as (client, app):
        kinds = {s["service_code"]: s["anonymous"] for s in (await client.get("/v1/services")).json()["services"]}
        assert kinds["property_repair"] is True and kinds["legal_aid"] is False

        # property repair: anonymous on the native API (refused on main) and on Open311
        r = await client.post("/v1/requests", json=nameless(), headers=WEB)
        assert r.status_code == 201, r.text
        assert (await app.state.container.service.get(r.json()["id"]))["resident"]["name"] == ""
        form = {"api_key": "dev-web-key", "service_code": "property_repair", "address_string": "5号楼"}
        assert (await client.post(f"{BASE}/requests.json", data=form)).status_code == 201

        # legal aid: a name on every door (Open311 took it without one on main), the field named each door's way
        r = await client.post("/v1/requests", json=nameless("legal_aid"), headers=WEB)
        assert r.status_code == 422 and r.json()["fields"][0]["field"] == "resident.name", r.text
        r = await client.post(f"{BASE}/requests.json", data={**form, "service_code": "legal_aid"})
        assert r.status_code == 400 and r.json()[0]["description"].startswith("first_name: required for legal_aid")
        portal = await client.get("/request/legal_aid")
        token = portal.text.split('name="submission" value="')[1].split('"')[0]
        r = await client.post(
            "/request/legal_aid",
            data={
                "submission": token,
                "description": "劳动合同纠纷",
                "location.building": "3号楼",
                "resident.name": "",
            },
        )
        assert r.status_code == 200 and "请填写您的称呼。" in r.text
        assert await stored(app) == 2

        # an emergency is referred at once, name or not
        r = await client.post("/v1/requests", json=nameless("legal_aid", description="家里煤气泄漏了"), headers=WEB)
        assert r.status_code == 201 and r.json()["status"] == "not_accepted", r.text


async def test_the_portal_states_what_anonymity_costs(run_service: Any) -> None:
    async with run_service("intake") as (client, _app):
        repair = (await client.get("/request/property_repair")).text
        assert "可以不填，匿名反映" in repair and "无法回电" in repair
        english = (await client.get("/request/property_repair?lang=en")).text
        assert "Without a phone or an e-mail staff cannot call you back" in english
        assert "匿名" not in (await client.get("/request/legal_aid")).text


async def test_unsupported_query_parameters_are_refused_naming_them(run_service: Any) -> None:
    async with run_service("intake") as (client, _app):
        r = await client.get(f"{BASE}/requests.json", params={"extensions": "true", "status": "open"})
        assert r.status_code == 400 and "unsupported query parameter(s): extensions" in r.json()[0]["description"]
        r = await client.get(f"{BASE}/requests.xml", params={"lat": "39.9"})
        assert r.status_code == 400 and b"<errors>" in r.content and b"lat" in r.content
        assert (await client.get(f"{BASE}/services.json", params={"q": "x"})).status_code == 400
        r = await client.get("/v1/services", params={"lang": "en"})
        assert r.status_code == 400 and "lang" in r.json()["message"]
        r = await client.get("/v1/admin/channels", params={"active": "true"}, headers=ADMIN)
        assert r.status_code == 400 and "active" in r.json()["message"]
        assert (await client.get(f"{BASE}/requests.json", params={"status": "open"})).status_code == 200


async def test_updated_after_lists_what_changed_whatever_its_age(run_service: Any) -> None:
    clock = MovingClock(datetime.now(UTC) - timedelta(days=200))
    async with run_service("intake", clock=clock) as (client, app):
        old = (await client.post("/v1/requests", json=REQUEST, headers=WEB)).json()
        clock.now = datetime.now(UTC) - timedelta(hours=1)
        fresh = (await client.post("/v1/requests", json=REQUEST, headers=WEB)).json()
        since = datetime.now(UTC) - timedelta(minutes=30)
        await play(app, dispatched(old["id"], old["tracking_code"]))  # the old request changes now

        async def changed() -> list[str]:
            params = {"updated_after": since.isoformat()}
            return [r["service_request_id"] for r in (await client.get(f"{BASE}/requests.json", params=params)).json()]

        assert await eventually(changed, what="the old request in updated_after") == [old["id"]]
        default = [r["service_request_id"] for r in (await client.get(f"{BASE}/requests.json")).json()]
        assert default == [fresh["id"]]  # the default window is 90 days of submissions
        before = {"updated_before": since.isoformat(), "updated_after": (since - timedelta(days=1)).isoformat()}
        listed = [r["service_request_id"] for r in (await client.get(f"{BASE}/requests.json", params=before)).json()]
        assert listed == [fresh["id"]]
        bad = await client.get(f"{BASE}/requests.json", params={"updated_after": "yesterday"})
        assert bad.status_code == 400 and "updated_after" in bad.json()[0]["description"]


class MovingClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_public_views_show_nothing_personal(run_service: Any) -> None:
    async with run_service("intake") as (client, app):
        personal = {**REQUEST, "service_code": "legal_aid", "attributes": {}, "description": "工伤赔偿，我是张三"}
        p = (await client.post("/v1/requests", json=personal, headers=WEB)).json()
        typed = "灯坏了，请打13912345678或 li.ming@example.org，身份证110101199003074512"
        q = (await client.post("/v1/requests", json={**REQUEST, "description": typed}, headers=WEB)).json()
        note = "已联系张三（13912345678），下周开庭"
        for r in (p, q):
            await play(app, routing_event(
                TaskNoted(request_id=r["id"], status="dispatched", team=TEAM, public_note=note), 1
            ))  # fmt: skip

        async def noted() -> dict[str, dict[str, Any]] | None:
            found = {r["service_request_id"]: r for r in (await client.get(f"{BASE}/requests.json")).json()}
            return found if all(found.get(i["id"], {}).get("updated_datetime") for i in (p, q)) else None

        await eventually(noted, what="both notes applied")
        for fetch in (f"{BASE}/requests.json", f"{BASE}/requests/{p['id']}.json"):
            [view] = [v for v in (await client.get(fetch)).json() if v["service_request_id"] == p["id"]]
            assert view["status_notes"] is None and view["description"] is None  # a personal kind: nothing
        [view] = (await client.get(f"{BASE}/requests/{q['id']}.json")).json()
        assert view["description"] == "灯坏了，请打***或 ***，身份证***"
        assert view["status_notes"] == "已联系张三（***），下周开庭"
        xml = (await client.get(f"{BASE}/requests/{q['id']}.xml")).content.decode()
        assert "13912345678" not in xml and "110101199003074512" not in xml and "li.ming@" not in xml


async def test_the_public_list_can_be_turned_off(run_service: Any) -> None:
    async with run_service("intake", open311_public_list=False) as (client, _app):
        mine = (await client.post("/v1/requests", json=REQUEST, headers=WEB)).json()
        r = await client.get(f"{BASE}/requests.json")
        assert r.status_code == 403 and "service_request_id" in r.json()[0]["description"]
        assert (await client.get(f"{BASE}/requests.xml", params={"status": "open"})).status_code == 403
        listed = (await client.get(f"{BASE}/requests.json", params={"service_request_id": mine["id"]})).json()
        assert [v["service_request_id"] for v in listed] == [mine["id"]]
        assert (await client.get(f"{BASE}/requests/{mine['id']}.json")).status_code == 200


async def test_intakes_later_events_carry_no_tracking_code(run_service: Any, listen: Any) -> None:
    async with run_service("intake") as (client, app), listen(app) as heard:
        r = (await client.post("/v1/requests", json=REQUEST, headers=WEB)).json()
        await play(app, dispatched(r["id"], r["tracking_code"]))
        cancel = {"tracking_code": r["tracking_code"], "reason": "已自行修好"}
        assert (await client.post(f"/v1/requests/{r['id']}/cancel", json=cancel)).status_code == 200
        [event] = await eventually(lambda: heard.of("request.cancelled", r["id"]), what="request.cancelled")
        assert event.data.get("tracking_code") is None and r["tracking_code"] not in str(event.model_dump())
        # request.submitted still carries it: notify puts it in the resident's receipt
        assert heard.of("request.submitted", r["id"])[0].data["tracking_code"] == r["tracking_code"]
