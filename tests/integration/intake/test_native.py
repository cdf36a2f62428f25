"""The native API v1 against the real app: submit, validation, idempotency, cancel, feedback."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from tests.integration.intake.conftest import REQUEST, WEB, dispatched, play, resolved, stored
from tests.support import eventually


def fields_of(response: Any) -> dict[str, str]:
    return {f["field"]: f["message"] for f in response.json()["fields"]}


async def test_submit_carries_location_resident_attributes_and_media(run_service: Any, listen: Any) -> None:
    async with run_service("intake") as (client, app), listen(app) as heard:
        r = await client.post("/v1/requests", json=REQUEST, headers=WEB)
        assert r.status_code == 201, r.text
        answer = r.json()
        assert answer["status"] == "submitted" and answer["referral"] is None
        assert answer["track_url"].endswith(f"/v1/track/{answer['tracking_code']}")

        events = await eventually(lambda: heard.of("request.submitted", answer["id"]), what="request.submitted")
        data = events[0].data
        assert events[0].seq == 1 and events[0].producer == "intake"
        assert data["location"] == {
            "address": "幸福路8号",
            "building": "3号楼",
            "unit": "2单元501",
            "lat": 39.91,
            "long": 116.40,
            "address_id": None,
        }
        assert data["resident"]["phone"] == "+8613800138000"  # normalized to E.164
        assert data["resident"]["vulnerability"] == ["elderly_alone"]
        assert data["resident"]["preferred_channel"] == "sms"
        assert data["attributes"] == {"place": "kitchen", "urgency": "leaking_now"}
        assert data["media_urls"] == ["https://example.org/leak.jpg"]
        assert data["channel"] == "web" and data["channel_kind"] == "web" and data["on_behalf"] is False
        assert data["service_name"]["en"] == "Property repair"

        track = (await client.get(f"/v1/track/{answer['tracking_code']}")).json()
        assert track["status"] == "submitted" and track["can_cancel"] is True
        text = str(track)
        assert "13800138000" not in text and "王阿姨" not in text and "wang@example.org" not in text


async def test_bad_input_is_refused_naming_the_field_and_nothing_is_stored(run_service: Any) -> None:
    async with run_service("intake") as (client, app):
        cases: list[tuple[dict[str, Any], str]] = []

        def variant(path: str, value: Any, expect: str) -> None:
            body = copy.deepcopy(REQUEST)
            *parents, leaf = path.split(".")
            target = body
            for p in parents:
                target = target[p]
            if value is KeyError:
                del target[leaf]
            else:
                target[leaf] = value
            cases.append((body, expect))

        variant("surprise", 1, "surprise")  # unknown fields are refused
        variant("resident.nickname", "x", "resident.nickname")
        nameless = {**copy.deepcopy(REQUEST), "service_code": "legal_aid", "attributes": {}}
        del nameless["resident"]["name"]
        cases.append((nameless, "resident.name"))  # legal aid needs a name (property repair may stay anonymous)
        variant("resident.phone", "12345", "resident.phone")
        variant("resident.email", "not-an-email", "resident.email")
        variant("resident.vulnerability", ["rich"], "resident.vulnerability.0")
        variant("location.lat", 91, "location.lat")
        variant("location.long", KeyError, "location.long")  # lat without long
        variant("location.address", "a\u0000b", "location.address")
        variant("description", "x" * 4001, "description")
        variant("description", "", "description")
        variant("service_code", "pothole", "service_code")
        variant("attributes", {"place": "garage"}, "attributes.place")
        variant("attributes", {"colour": "red"}, "attributes.colour")
        variant("attributes", {"home_from": "tomorrow"}, "attributes.home_from")
        variant("media_urls", ["ftp://example.org/x.jpg"], "media_urls")
        variant("filed_by", "operator 7", "filed_by")  # web channels do not file on someone's behalf
        for body, expect in cases:
            r = await client.post("/v1/requests", json=body, headers=WEB)
            assert r.status_code == 422, (expect, r.text)
            assert r.json()["error"] == "validation_error"
            assert any(f.startswith(expect) for f in fields_of(r)), (expect, r.json())
        # A missing `location` object entirely, and not JSON at all.
        body = {k: v for k, v in REQUEST.items() if k != "location"}
        r = await client.post("/v1/requests", json=body, headers=WEB)
        assert r.status_code == 422 and "location" in fields_of(r)
        r = await client.post("/v1/requests", content=b"{not json", headers={**WEB, "Content-Type": "application/json"})
        assert r.status_code == 422
        assert await stored(app) == 0


async def test_every_wrong_answer_is_named_at_once(run_service: Any) -> None:
    async with run_service("intake") as (client, app):
        body = {**REQUEST, "attributes": {"place": "garage", "urgency": ["leaking_now", "can_wait"], "x": "1"}}
        r = await client.post("/v1/requests", json=body, headers=WEB)
        assert r.status_code == 422
        assert set(fields_of(r)) == {"attributes.place", "attributes.urgency", "attributes.x"}
        assert "choose one of: kitchen" in fields_of(r)["attributes.place"]
        # A required question (the emergency kind's "what is happening?") left out.
        body = {**REQUEST, "service_code": "emergency", "attributes": {}}
        r = await client.post("/v1/requests", json=body, headers=WEB)
        assert r.status_code == 422 and "attributes.kind" in fields_of(r)
        assert await stored(app) == 0


async def test_missing_or_unknown_key(run_service: Any) -> None:
    async with run_service("intake") as (client, app):
        assert (await client.post("/v1/requests", json=REQUEST)).status_code == 401
        r = await client.post("/v1/requests", json=REQUEST, headers={"X-API-Key": "guess"})
        assert r.status_code == 403 and r.json()["error"] == "forbidden" and "API key" in r.json()["message"]
        assert await stored(app) == 0


async def test_idempotency_key_same_body_same_answer_other_body_409(run_service: Any, listen: Any) -> None:
    async with run_service("intake") as (client, app), listen(app) as heard:
        headers = {**WEB, "Idempotency-Key": "order-42"}
        first = await client.post("/v1/requests", json=REQUEST, headers=headers)
        again = await client.post("/v1/requests", json=REQUEST, headers=headers)
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"
        other = await client.post("/v1/requests", json={**REQUEST, "description": "另一件事"}, headers=headers)
        assert other.status_code == 409 and "Idempotency-Key" in other.json()["message"]
        assert await stored(app) == 1
        # A different key is a different request.
        third = await client.post("/v1/requests", json=REQUEST, headers={**WEB, "Idempotency-Key": "order-43"})
        assert third.status_code == 201 and third.json()["id"] != first.json()["id"]
        await eventually(lambda: len(heard.of("request.submitted")) == 2, what="two submitted events")
        assert {e.correlation_id for e in heard.of("request.submitted")} == {first.json()["id"], third.json()["id"]}


async def test_idempotency_key_holds_under_concurrent_retries(run_service: Any) -> None:
    async with run_service("intake") as (client, app):
        headers = {**WEB, "Idempotency-Key": "burst-1"}
        answers = await asyncio.gather(*(client.post("/v1/requests", json=REQUEST, headers=headers) for _ in range(6)))
        assert {r.status_code for r in answers} == {201}
        assert len({r.json()["id"] for r in answers}) == 1
        assert await stored(app) == 1


async def test_cancel_with_the_tracking_code(run_service: Any, listen: Any) -> None:
    async with run_service("intake") as (client, app), listen(app) as heard:
        created = (await client.post("/v1/requests", json=REQUEST, headers=WEB)).json()
        rid, code = created["id"], created["tracking_code"]
        wrong = await client.post(f"/v1/requests/{rid}/cancel", json={"tracking_code": "HY0000000000"})
        assert wrong.status_code == 404
        r = await client.post(
            f"/v1/requests/{rid}/cancel", json={"tracking_code": code.lower(), "reason": "已自行修好"}
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "cancelled"
        events = await eventually(lambda: heard.of("request.cancelled", rid), what="request.cancelled")
        assert events[0].seq == 2 and events[0].data["reason"] == "已自行修好"
        doc = await app.state.container.store.by_id(rid)
        assert doc["status"] == "cancelled" and doc["seq"] == 2
        # A retry answers the same and emits nothing new.
        again = await client.post(f"/v1/requests/{rid}/cancel", json={"tracking_code": code})
        assert again.status_code == 200 and again.json()["status"] == "cancelled"
        assert (await app.state.container.store.by_id(rid))["seq"] == 2
        # A task event routing published before it saw the cancellation does not reopen the view.
        await play(app, dispatched(rid, code, seq=1))
        await eventually(
            lambda: _timeline_has(app, rid, "task.dispatched"), what="the late task.dispatched in the timeline"
        )
        track = (await client.get(f"/v1/track/{code}")).json()
        assert track["status"] == "cancelled" and track["team"]["id"] == "property_maintenance"
        assert track["can_cancel"] is False


async def _timeline_has(app: Any, rid: str, event_type: str) -> bool:
    doc = await app.state.container.store.by_id(rid)
    return any(e["type"] == event_type for e in doc["timeline"])


async def test_cancel_refused_once_final(run_service: Any) -> None:
    async with run_service("intake") as (client, app):
        created = (await client.post("/v1/requests", json=REQUEST, headers=WEB)).json()
        rid, code = created["id"], created["tracking_code"]
        await play(app, dispatched(rid, code, seq=1))
        await play(app, resolved(rid, code, seq=2))

        async def is_resolved() -> bool:
            return (await client.get(f"/v1/track/{code}")).json()["status"] == "resolved"

        await eventually(is_resolved, what="resolved in the view")
        r = await client.post(f"/v1/requests/{rid}/cancel", json={"tracking_code": code})
        assert r.status_code == 409 and "resolved" in r.json()["message"]


async def test_feedback_only_when_resolved_once_per_resolution(run_service: Any, listen: Any) -> None:
    async with run_service("intake") as (client, app), listen(app) as heard:
        created = (await client.post("/v1/requests", json=REQUEST, headers=WEB)).json()
        rid, code = created["id"], created["tracking_code"]
        early = await client.post(f"/v1/feedback/{code}", json={"rating": "satisfied"})
        assert early.status_code == 409 and "submitted" in early.json()["message"]
        bad = await client.post(f"/v1/feedback/{code}", json={"rating": "great"})
        assert bad.status_code == 422 and "rating" in fields_of(bad)
        assert (await client.post("/v1/feedback/HY0000000000", json={"rating": "satisfied"})).status_code == 404

        await play(app, dispatched(rid, code, seq=1))
        await play(app, resolved(rid, code, seq=2))

        async def can_rate() -> bool:
            return (await client.get(f"/v1/track/{code}")).json()["can_give_feedback"]

        await eventually(can_rate, what="the request to be resolved")
        r = await client.post(f"/v1/feedback/{code}", json={"rating": "fairly_satisfied", "comment": "修得不错"})
        assert r.status_code == 201, r.text
        assert r.json()["rating"] == "fairly_satisfied"
        events = await eventually(lambda: heard.of("request.feedback_received", rid), what="feedback event")
        assert events[0].data["rating"] == "fairly_satisfied" and events[0].data["comment"] == "修得不错"
        assert events[0].seq == 2
        twice = await client.post(f"/v1/feedback/{code}", json={"rating": "dissatisfied"})
        assert twice.status_code == 409 and "already" in twice.json()["message"]
        assert len(heard.of("request.feedback_received", rid)) == 1


async def test_services_list_the_questions(run_service: Any) -> None:
    async with run_service("intake") as (client, _app):
        services = {s["service_code"]: s for s in (await client.get("/v1/services")).json()["services"]}
        assert {q["code"] for q in services["property_repair"]["questions"]} >= {"place", "urgency"}
        assert services["legal_aid"]["questions"][0]["code"] == "topic"
