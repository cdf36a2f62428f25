"""Emergency triage through every front door, against intake's real app (real RabbitMQ, embedded MongoDB):
the native API and Open311 answer a referral naming the rule and store nothing, then file the same request
once it is confirmed not to be an emergency; the portal answers the call-now page and files on "continue";
the emergency door only refers; a bad tracking code has its own page. Issue 13."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import yaml

from services.intake.config import DEPLOY
from tests.integration.intake.conftest import REQUEST, WEB, stored
from tests.integration.intake.test_open311 import FORM, post_form
from tests.integration.intake.test_web_portal import FORM as PORTAL_FORM
from tests.integration.intake.test_web_portal import code_of, file, text_of
from tests.support import eventually

FALL = {**REQUEST, "description": "老伴在家摔倒了起不来"}


async def test_native_api_refers_with_the_rule_then_files_once_confirmed(run_service: Any, listen: Any) -> None:
    async with run_service("intake") as (client, app), listen(app) as heard:
        r = await client.post("/v1/requests", json=FALL, headers=WEB)
        assert r.status_code == 422, r.text
        body = r.json()
        assert body["error"] == "emergency_referral" and "rule fall" in body["message"]
        assert "confirm_not_emergency: true" in body["message"]
        assert body["fields"] == [
            {"field": "confirm_not_emergency", "message": "rule fall: call 120 now", "type": "emergency_referral"}
        ]
        assert body["referral"]["rule"] == "fall" and body["referral"]["call"] == "120"
        assert body["referral"]["reason"]["zh-CN"] == "您说的可能是有人摔倒起不来" and body["referral"]["overridable"]
        assert await stored(app) == 0

        wrong = await client.post("/v1/requests", json={**FALL, "confirm_not_emergency": "yes"}, headers=WEB)
        assert wrong.status_code == 422 and wrong.json()["fields"][0]["field"] == "confirm_not_emergency"

        ok = await client.post("/v1/requests", json={**FALL, "confirm_not_emergency": True}, headers=WEB)
        assert ok.status_code == 201, ok.text
        assert ok.json()["status"] == "submitted"
        await eventually(lambda: heard.of("request.submitted", ok.json()["id"]), what="request.submitted")
        doc = await app.state.container.store.by_id(ok.json()["id"])
        assert doc["emergency_overridden"] == "fall"


async def test_the_emergency_door_only_refers_even_when_confirmed(run_service: Any) -> None:
    async with run_service("intake") as (client, app):
        door = {**REQUEST, "service_code": "emergency", "attributes": {"kind": "gas_leak"}}
        for confirmed in (False, True):
            r = await client.post("/v1/requests", json={**door, "confirm_not_emergency": confirmed}, headers=WEB)
            assert r.status_code == 422 and r.json()["referral"]["call"] == "119", r.text
            assert r.json()["fields"][0]["field"] == "service_code" and not r.json()["referral"]["overridable"]
        assert await stored(app) == 0


async def test_open311_refers_in_its_format_then_files_once_confirmed(run_service: Any) -> None:
    async with run_service("intake") as (client, app):
        form = {**FORM, "description": "厨房里煤气味很重"}
        for fmt in ("json", "xml"):
            r = await post_form(client, fmt, form)
            assert r.status_code == 400, r.text
            if fmt == "json":
                [error] = r.json()
                assert error["code"] == 400 and error["description"].startswith("emergency_referral: ")
                assert "rule gas_leak" in error["description"] and "Call 119 now" in error["description"]
                assert "confirm_not_emergency=true" in error["description"]
            else:
                assert b"<errors>" in r.content and b"rule gas_leak" in r.content
        assert await stored(app) == 0
        bad = await post_form(client, "json", {**form, "confirm_not_emergency": "perhaps"})
        assert bad.status_code == 400 and "confirm_not_emergency" in bad.json()[0]["description"]
        ok = await post_form(client, "json", {**form, "confirm_not_emergency": "true"})
        assert ok.status_code == 201, ok.text
        [created] = ok.json()
        doc = await app.state.container.store.by_id(created["service_request_id"])
        assert doc["emergency_overridden"] == "gas_leak" and doc["status"] == "submitted"


async def test_the_portal_answers_the_call_now_page_and_files_on_continue(run_service: Any) -> None:
    async with run_service("intake") as (client, app):
        for lang, reason, button in (
            ("zh-CN", "您说的可能是燃气泄漏", "不是紧急情况，继续提交"),
            ("en", "what you describe may be a gas leak", "Not an emergency — continue"),
        ):
            await client.get(f"/?lang={lang}")
            r = await file(client, form={**PORTAL_FORM, "description": "楼道里煤气味很重"})
            assert r.status_code == 200, r.text
            page = r.text
            # The call box is the first thing in <main> after the skip target: red, tel: links, plain reason.
            main = page[page.index('<main id="main"') :]
            assert main.index('class="callbox"') < main.index("<form")
            assert 'href="tel:119"' in page and 'href="tel:120"' in page and 'href="tel:110"' in page
            assert reason in text_of(page) and "gas_leak" not in text_of(page)
            assert "成功" not in page and "success" not in page.lower()
            assert button in text_of(page)
        assert await stored(app) == 0

        hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))
        assert hidden["confirm_not_emergency"] == "true" and html.unescape(hidden["description"]) == "楼道里煤气味很重"
        code = code_of(
            await client.post("/request/property_repair", data={k: html.unescape(v) for k, v in hidden.items()})
        )
        doc = await app.state.container.store.by_tracking_code(code)
        assert doc["emergency_overridden"] == "gas_leak" and await stored(app) == 1


async def test_the_emergency_line_and_link_lead_to_the_call_page(run_service: Any) -> None:
    async with run_service("intake") as (client, _app):
        for lang, line in (("zh-CN", "紧急情况请直接拨打"), ("en", "In an emergency, call")):
            home = (await client.get(f"/?lang={lang}")).text
            form = (await client.get("/request/property_repair")).text
            for page in (home, form):
                assert line in page and 'href="tel:119"' in page and 'href="/emergency"' in page
            assert 'href="/request/emergency"' not in home
        door = await client.get("/request/emergency")
        assert door.status_code == 303 and door.headers["location"] == "/emergency"
        call = await client.get("/emergency?lang=zh-CN")
        assert call.status_code == 200 and 'class="callbox"' in call.text and "什么时候要马上打电话" in call.text


async def test_a_bad_tracking_code_has_its_own_page_with_the_error_first(run_service: Any) -> None:
    async with run_service("intake") as (client, _app):
        for lang, title in (("zh-CN", "查询码格式不对"), ("en", "That tracking code is not right")):
            r = await client.get("/track", params={"code": "HY12<b>", "lang": lang})
            assert r.status_code == 400
            main = r.text[r.text.index('<main id="main"') :]
            alert = re.search(r'<div class="error-summary" role="alert" tabindex="-1" autofocus[^>]*>', main)
            assert alert and main.index(alert.group(0)) < main.index("<form")
            assert title in r.text and "home.services" not in r.text and 'class="services"' not in r.text
            assert 'value="HY12&lt;b&gt;"' in r.text and 'aria-invalid="true"' in r.text


async def test_a_required_question_is_marked_and_has_no_not_sure(run_service: Any, tmp_path: Path) -> None:
    data = yaml.safe_load((DEPLOY / "catalogue.yaml").read_text(encoding="utf-8"))
    repair = next(s for s in data["services"] if s["code"] == "property_repair")
    place = next(q for q in repair["questions"] if q["code"] == "place")
    place["required"] = True
    path = tmp_path / "catalogue.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    async with run_service("intake", catalogue_path=path) as (client, _app):
        page = (await client.get("/request/property_repair")).text
        assert 'id="f-attributes-place-none"' not in page
        assert re.search(r'<legend>[^<]*<span class="tag[^"]*">必填</span>', page)
