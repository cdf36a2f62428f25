"""The resident portal against intake's real app in-process (real RabbitMQ, embedded MongoDB): pages in both
languages, the form rendered from the catalogue, filing through the server-side `portal` channel with the
API's checks, every problem named at its field in the resident's language with nothing stored, tracking,
cancelling and rating."""

from __future__ import annotations

import html
import re
from typing import Any

from services.intake.domain.channels import PORTAL_CHANNEL
from tests.integration.intake.conftest import ADMIN, dispatched, play, resolved, stored
from tests.support import eventually

FORM: dict[str, Any] = {
    "description": "厨房水管漏水，楼下也在渗水",
    "location.address": "幸福路8号",
    "location.building": "3号楼",
    "location.unit": "2单元501",
    "resident.name": "王阿姨",
    "resident.phone": "138 0013 8000",
    "resident.email": "",
    "resident.preferred_channel": "sms",
    "resident.language": "zh-CN",
    "attributes.place": "kitchen",
    "attributes.urgency": "leaking_now",
    "attributes.building_works": "",
    "attributes.home_from": "2026-05-01T09:30",
}


def text_of(page: str) -> str:
    """The visible text of a page, roughly: tags dropped, entities decoded, blanks squeezed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def field_error(page: str, field_id: str) -> str | None:
    match = re.search(rf'<p class="error field-error" id="{field_id}-error">([^<]*)</p>', page)
    return html.unescape(match.group(1)) if match else None


async def file(client: Any, service: str = "property_repair", form: dict[str, Any] | None = None, **extra: Any) -> Any:
    page = await client.get(f"/request/{service}")
    token = re.search(r'name="submission" value="([^"]+)"', page.text)
    assert token, page.text
    data = {"submission": token.group(1), **(FORM if form is None else form), **extra}
    return await client.post(f"/request/{service}", data=data)


def code_of(response: Any) -> str:
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/track/(HY[0-9A-Z]{10})\?new=1", response.headers["location"])
    assert match, response.headers["location"]
    return match.group(1)


async def test_home_lists_every_service_in_chinese_by_default_and_english_on_request(run_service: Any) -> None:
    async with run_service("intake") as (client, app):
        r = await client.get("/")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert '<html lang="zh-CN">' in r.text
        for service in app.state.container.config.catalogue.services:
            if service.code != "emergency":
                assert f'href="/request/{service.code}"' in r.text
                assert service.name["zh-CN"] in r.text
        assert 'href="tel:119"' in r.text and 'href="tel:120"' in r.text and 'href="tel:110"' in r.text
        assert 'href="/?lang=en"' in r.text  # the visible switch

        en = await client.get("/?lang=en")
        assert '<html lang="en">' in en.text and "Property repair" in en.text
        assert "huiying_lang=en" in en.headers["set-cookie"]
        # Remembered: the next page without ?lang= is English too (httpx keeps the cookie).
        again = await client.get("/request/legal_aid")
        assert '<html lang="en">' in again.text and "Legal aid consultation" in again.text
        assert 'href="/request/legal_aid?lang=zh-CN"' in again.text


async def test_pages_carry_security_headers_and_load_nothing_from_elsewhere(run_service: Any) -> None:
    async with run_service("intake") as (client, app):
        r = await client.get("/request/property_repair")
        policy = r.headers["content-security-policy"]
        notify = app.state.settings.public_url("notify")
        assert "default-src 'self'" in policy and "script-src 'self'" in policy
        assert f"connect-src 'self' {notify}" in policy
        assert r.headers["referrer-policy"] == "no-referrer" and r.headers["cache-control"] == "no-store"
        for url in re.findall(r'(?:src|href)="([^"]+)"', r.text):
            assert url.startswith(("/", "#", "tel:", "data:")), url  # nothing from the internet (no CDN)
        for asset in ("/static/portal/portal.css", "/static/portal/portal.js", "/static/common/huiying.css"):
            assert (await client.get(asset)).status_code == 200, asset


async def test_the_form_renders_each_question_with_its_datatype_and_required_flag(run_service: Any) -> None:
    async with run_service("intake") as (client, app):
        page = (await client.get("/request/property_repair")).text
        repair = app.state.container.config.catalogue.get("property_repair")
        for q in repair.questions:
            assert q.description["zh-CN"] in html.unescape(page)
        # singlevaluelist: a radio per value plus "not sure" for an optional question
        assert page.count('name="attributes.place" value=') == len(repair.question("place").values) + 1
        # a date and time: four selects that read in the page's language (no mm/dd/yyyy picker)
        assert "datetime-local" not in page
        assert all(f'name="attributes.home_from.{part}"' in page for part in ("year", "month", "day", "time"))
        assert '<option value="5">5月</option>' in page
        for field in ("description", "location.address", "resident.name", "resident.phone", "resident.email"):
            assert f'name="{field}"' in page and f'for="f-{field.replace(".", "-")}"' in page  # every field labelled

        care = (await client.get("/request/care_visit")).text
        assert care.count('type="checkbox" id="f-attributes-household-') == 4  # multivaluelist: checkboxes
        assert 'name="attributes.people_at_home" type="text"' in care and 'inputmode="decimal"' in care  # number

        emergency = (await client.get("/request/emergency")).text
        # a required question: no "not sure" option, marked required
        assert 'id="f-attributes-kind-none"' not in emergency
        assert re.search(r"<legend>发生了什么？ <span class=\"tag tag-required\">必填</span>", emergency)

        missing = await client.get("/request/pothole")
        assert missing.status_code == 404 and "没有这个事项" in missing.text


async def test_a_filed_request_goes_through_the_portal_channel_like_the_api(run_service: Any, listen: Any) -> None:
    async with run_service("intake") as (client, app), listen(app) as heard:
        code = code_of(await file(client))
        doc = await app.state.container.store.by_tracking_code(code)
        assert doc["channel"] == PORTAL_CHANNEL and doc["channel_kind"] == "web" and doc["on_behalf"] is False
        assert doc["resident"]["phone"] == "+8613800138000" and doc["resident"]["preferred_channel"] == "sms"
        assert doc["attributes"] == {
            "place": "kitchen",
            "urgency": "leaking_now",
            "home_from": "2026-05-01T09:30:00+08:00",  # the datetime-local input read in Asia/Shanghai
        }
        assert doc["location"]["building"] == "3号楼" and doc["status"] == "submitted"
        events = await eventually(lambda: heard.of("request.submitted", doc["_id"]), what="request.submitted")
        assert events[0].data["channel"] == PORTAL_CHANNEL

        page = await client.get(f"/track/{code}?new=1")
        assert page.status_code == 200 and code in page.text and "提交成功" in page.text
        text = text_of(page.text)
        assert "王阿姨" not in text and "13800138000" not in text and "幸福路8号" not in text  # never public
        channel = (await client.get(f"/v1/admin/channels/{PORTAL_CHANNEL}", headers=ADMIN)).json()
        assert channel["kind"] == "web" and channel["active"] is True


async def test_the_same_form_sent_twice_files_one_request(run_service: Any) -> None:
    async with run_service("intake") as (client, app):
        page = await client.get("/request/legal_aid")
        token = re.search(r'name="submission" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        data = {**{k: v for k, v in FORM.items() if not k.startswith("attributes.")}, "submission": token}
        first = await client.post("/request/legal_aid", data=data)
        second = await client.post("/request/legal_aid", data=data)
        assert first.headers["location"] == second.headers["location"]
        assert await stored(app) == 1
        changed = await client.post("/request/legal_aid", data={**data, "description": "另一件事"})
        assert changed.status_code == 200 and "已经提交过" in changed.text
        assert await stored(app) == 1


async def test_every_problem_is_shown_at_its_field_in_the_residents_language_and_nothing_stored(
    run_service: Any,
) -> None:
    async with run_service("intake") as (client, app):
        bad = {
            **FORM,
            "description": "   ",
            "location.address": "",
            "location.building": "",
            "location.unit": "",
            "resident.name": "",
            "resident.phone": "12345",
            "resident.email": "not-an-email",
            "attributes.place": "garage",
            "attributes.home_from": "tomorrow",
        }
        r = await file(client, form=bad)
        assert r.status_code == 200
        page = r.text
        assert field_error(page, "f-description") == "请描述一下问题。"
        assert field_error(page, "f-location-address") == "请至少填写地址或楼栋，方便工作人员找到。"
        assert field_error(page, "f-resident-name") is None  # a repair may stay anonymous (see below)
        assert field_error(page, "f-resident-phone") == "电话号码不正确：手机如 13800138000，座机如 010-12345678。"
        assert field_error(page, "f-resident-email") == "电子邮箱格式不正确，如 name@example.com。"
        assert field_error(page, "f-attributes-place") == "请从选项中选择。"
        assert field_error(page, "f-attributes-home-from") == "请选择日期和时间。"
        assert "有 6 处需要修改" in page
        assert 'value="12345"' in page  # what the resident typed is kept
        assert 'aria-invalid="true"' in page
        assert await stored(app) == 0

        # sms without a phone: named at the phone, in English on an English page
        r = await client.post(
            "/request/property_repair?lang=en", data={**FORM, "resident.phone": "", "submission": "x" * 20}
        )
        assert field_error(r.text, "f-resident-phone") == "Give a mobile number to be told by text message."
        too_long = await client.post(
            "/request/property_repair?lang=en", data={**FORM, "description": "x" * 4001, "submission": "y" * 20}
        )
        assert field_error(too_long.text, "f-description") == "Too long: at most 4000 characters."
        assert await stored(app) == 0


async def test_an_emergency_is_answered_with_the_referral(run_service: Any) -> None:
    async with run_service("intake") as (client, app):
        form = {k: v for k, v in FORM.items() if not k.startswith("attributes.")}
        missing = await file(client, "emergency", form=form)
        assert field_error(missing.text, "f-attributes-kind") == "请填写这一项。"
        assert await stored(app) == 0

        code = code_of(await file(client, "emergency", form={**form, "attributes.kind": "gas_leak"}))
        page = (await client.get(f"/track/{code}")).text
        assert 'href="tel:119"' in page and "拨打 119" in page and "燃气泄漏" in page
        assert "这里办不了" in page and "取消这个问题" not in page  # final: nothing to cancel


async def test_track_shows_status_team_due_notes_and_timeline(run_service: Any) -> None:
    async with run_service("intake") as (client, app):
        code = code_of(await file(client))
        doc = await app.state.container.store.by_tracking_code(code)
        await play(app, dispatched(doc["_id"], code))

        async def assigned() -> str | None:
            page = (await client.get(f"/track/{code}")).text
            return page if "物业维修组" in page else None

        page = await eventually(assigned, timeout=20, what="the dispatch on the track page")
        assert 'data-status="dispatched"' in page and "已交给工作组" in page and "物业维修组" in page
        assert 'aria-current="step"' in page
        assert f'data-inbox="{app.state.settings.public_url("notify")}/v1/inbox/{code}?allow_empty=true"' in page
        en = (await client.get(f"/track/{code}?lang=en")).text
        assert "Property maintenance" in en and "Passed to a team" in en
        assert "物业维修组" in (await client.get(f"/track/{code}?lang=zh-CN")).text  # and back

        lower = await client.get(f"/track/{code.lower()}")
        assert lower.status_code == 303 and lower.headers["location"] == f"/track/{code}"
        assert (await client.get("/track/HY0000000000")).status_code == 404
        lookup = await client.get("/track", params={"code": "nonsense"})
        assert lookup.status_code == 200 and "查询码格式不对" in lookup.text
        found = await client.get("/track", params={"code": code.lower()})
        assert found.status_code == 303 and found.headers["location"] == f"/track/{code}"


async def test_cancel_while_open_and_not_once_final(run_service: Any, listen: Any) -> None:
    async with run_service("intake") as (client, app), listen(app) as heard:
        code = code_of(await file(client))
        form = (await client.get(f"/cancel/{code}")).text
        assert "确定取消" in form
        r = await client.post(f"/cancel/{code}", data={"reason": "已自行修好"})
        assert r.status_code == 303 and r.headers["location"] == f"/track/{code}?cancelled=1"
        doc = await app.state.container.store.by_tracking_code(code)
        assert doc["status"] == "cancelled" and doc["cancel_reason"] == "已自行修好"
        await eventually(lambda: heard.of("request.cancelled", doc["_id"]), what="request.cancelled")
        page = (await client.get(r.headers["location"])).text
        assert "已为您取消" in page and "/cancel/" not in page

        again = await client.get(f"/cancel/{code}")
        assert "不能再取消" in again.text and "确定取消" not in again.text
        late = await client.post(f"/cancel/{code}", data={"reason": ""})
        assert late.status_code == 303  # cancelling a cancelled request answers its state again (a retry)

        bad = await client.post(f"/cancel/{code_of(await file(client))}", data={"reason": "x" * 501})
        assert bad.status_code == 200 and "最多 500 个字" in bad.text


async def test_feedback_after_resolution_once(run_service: Any, listen: Any) -> None:
    async with run_service("intake") as (client, app), listen(app) as heard:
        code = code_of(await file(client))
        doc = await app.state.container.store.by_tracking_code(code)

        early = (await client.get(f"/feedback/{code}")).text
        assert "处理完以后才能评价" in early and 'name="rating"' not in early

        await play(app, dispatched(doc["_id"], code, seq=1))
        await play(app, resolved(doc["_id"], code, seq=2))

        async def rateable() -> str | None:
            page = (await client.get(f"/feedback/{code}")).text
            return page if 'name="rating"' in page else None

        page = await eventually(rateable, timeout=20, what="the feedback form")
        assert "水管已更换" in page  # the reply being rated
        for label in ("满意", "基本满意", "不满意"):
            assert label in page
        track = (await client.get(f"/track/{code}")).text
        assert f'href="/feedback/{code}"' in track

        missing = await client.post(f"/feedback/{code}", data={"rating": "", "comment": "好"})
        assert missing.status_code == 200 and field_error(missing.text, "f-rating") == "请选择您的评价。"
        long = await client.post(f"/feedback/{code}", data={"rating": "satisfied", "comment": "好" * 1001})
        assert field_error(long.text, "f-comment") == "太长了，最多 1000 个字。"
        assert 'value="satisfied" checked' in long.text  # the choice is kept

        r = await client.post(f"/feedback/{code}", data={"rating": "satisfied", "comment": "师傅很及时"})
        assert r.status_code == 303 and r.headers["location"] == f"/feedback/{code}?thanks=1"
        thanks = (await client.get(r.headers["location"])).text
        assert "感谢您的评价" in thanks and "师傅很及时" in thanks
        events = await eventually(lambda: heard.of("request.feedback_received", doc["_id"]), what="feedback event")
        assert events[0].data["rating"] == "satisfied"

        twice = await client.post(f"/feedback/{code}", data={"rating": "dissatisfied"})
        assert "已经评价过了" in twice.text
        assert len((await app.state.container.store.by_tracking_code(code))["feedback"]) == 1


async def test_a_disabled_portal_channel_pauses_online_filing(run_service: Any) -> None:
    async with run_service("intake") as (client, app):
        r = await client.post(f"/v1/admin/channels/{PORTAL_CHANNEL}/disable", headers=ADMIN)
        assert r.status_code == 200
        refused = await file(client)
        assert refused.status_code == 503 and "网上登记暂停" in refused.text
        assert await stored(app) == 0
        await client.post(f"/v1/admin/channels/{PORTAL_CHANNEL}/enable", headers=ADMIN)
        code_of(await file(client))


async def test_the_address_rate_limit_answers_a_page(run_service: Any) -> None:
    async with run_service("intake", rate_limit_per_address=3) as (client, _app):
        statuses = [(await client.get("/track/HY0000000000")).status_code for _ in range(4)]
        assert statuses == [404, 404, 404, 429]
        limited = await client.get("/track/HY0000000000")
        assert "操作太频繁" in limited.text and int(limited.headers["retry-after"]) >= 1
        assert limited.headers["content-type"].startswith("text/html")


async def test_the_portal_is_not_in_the_openapi_document(run_service: Any) -> None:
    async with run_service("intake") as (client, _app):
        paths = (await client.get("/openapi.json")).json()["paths"]
        assert not [p for p in paths if not p.startswith(("/v1/", "/open311/", "/healthz", "/readyz", "/metrics"))]


async def test_a_database_outage_answers_a_page_with_retry_after(run_service: Any) -> None:
    async with run_service("intake") as (client, app):
        code = code_of(await file(client))
        await app.state.container.infra.client.close()  # the database is gone for this replica
        for r in (await client.get(f"/track/{code}"), await file(client), await client.get(f"/feedback/{code}")):
            assert r.status_code == 503 and r.headers["retry-after"] == "5", r.text
            assert r.headers["content-type"].startswith("text/html") and "系统暂时繁忙" in r.text
        assert (await client.get("/")).status_code == 200  # the home page needs no database


async def test_a_plain_form_post_as_in_the_docs(run_service: Any) -> None:
    """docs/intake.md's curl example: the portal route takes an ordinary form post, no page needed first."""
    async with run_service("intake") as (client, app):
        data = {
            "description": "想咨询劳动合同纠纷",
            "location.building": "5号楼",
            "resident.name": "李师傅",
            "resident.preferred_channel": "inbox",
            "submission": "any-16-to-64-characters",
        }
        code = code_of(await client.post("/request/legal_aid", data=data))
        doc = await app.state.container.store.by_tracking_code(code)
        assert doc["resident"]["language"] == "zh-CN" and doc["attributes"] == {}
