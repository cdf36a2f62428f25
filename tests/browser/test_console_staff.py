"""The staff console and the ledger dashboard in headless Chromium against the stack as `make run` starts
it: requests come in through intake's HTTP API (the web channel's key), staff work them in the browser.

(a) a member signs in, claims and resolves with a public reply (the resident's tracking view shows it);
(b) a supervisor re-dispatches a task a member returned; (c) the dashboard shows the new counts after
work is done, and its CSV downloads; (d) the queue refreshes by itself when new work arrives, without a
reload; (e) the English switch, remembered across pages. No page may log a JavaScript error."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import httpx
from playwright.sync_api import expect

from huiying.stack import Stack
from tests.browser.conftest import screenshot
from tests.support import wait_sync

WEB = {"X-API-Key": "dev-web-key"}
MEMBER, SUPERVISOR = "property_maintenance.member", "supervisor"
DESKTOP = (1280, 900)
PHONE_WIDTH = 390  # the `new_page` default


def fits_the_phone(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"{page.url} is {width}px wide on a {PHONE_WIDTH}px phone"


def file_request(stack: Stack, description: str, *, building: str = "3号楼") -> dict[str, Any]:
    """A resident's repair request through intake's API, as the web front end sends it; returns it once
    routing has dispatched it to a team."""
    body = {
        "service_code": "property_repair",
        "description": f"{description}（{uuid.uuid4().hex[:4]}）",
        "location": {"address": "幸福路8号", "building": building, "unit": "2单元501"},
        "resident": {"name": "王阿姨", "phone": "13800138000", "language": "zh-CN"},
        "attributes": {"place": "kitchen"},
    }
    with httpx.Client(timeout=15) as http:
        r = http.post(f"{stack.url('intake')}/v1/requests", headers=WEB, json=body)
        assert r.status_code == 201, r.text
        created: dict[str, Any] = r.json()
        token = api_token(http, stack, SUPERVISOR)

        def dispatched() -> bool:
            t = http.get(f"{stack.url('routing')}/v1/tasks/{created['id']}", headers=token)
            return t.status_code == 200 and t.json()["status"] == "dispatched"

        wait_sync(dispatched, timeout=30, what=f"routing to dispatch {created['tracking_code']}")
    return created


def api_token(http: httpx.Client, stack: Stack, username: str) -> dict[str, str]:
    r = http.post(f"{stack.url('routing')}/v1/auth/login", json={"username": username, "password": "dev-password"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def task(stack: Stack, request_id: str) -> dict[str, Any]:
    with httpx.Client(timeout=15) as http:
        r = http.get(f"{stack.url('routing')}/v1/tasks/{request_id}", headers=api_token(http, stack, SUPERVISOR))
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]


def sign_in(page: Any, stack: Stack, username: str) -> None:
    page.goto(f"{stack.url('routing')}/console/")
    assert "/console/login" in page.url  # not signed in yet
    page.fill("#username", username)
    page.fill("#password", "dev-password")
    page.click("form.card button[type=submit]")
    page.wait_for_url(f"{stack.url('routing')}/console/")


def test_a_member_claims_and_resolves_a_request_with_a_public_reply(stack: Stack, new_page: Any) -> None:
    created = file_request(stack, "厨房水龙头坏了，关不紧")
    code = created["tracking_code"]
    page = new_page()
    page.goto(f"{stack.url('routing')}/console/login")
    screenshot(page, "console-login")
    sign_in(page, stack, MEMBER)
    card = page.locator(f'li[data-code="{code}"]')
    card.wait_for()
    assert "物业维修组" in page.locator("h1").inner_text()
    fits_the_phone(page)
    screenshot(page, "console-queue")

    card.locator("a.code").click()
    page.wait_for_url(f"**/console/tasks/{created['id']}")
    assert "厨房水龙头坏了" in page.locator(".description").inner_text()
    page.click("form.primary-action button")  # 签收
    page.locator(".ok-notice").wait_for()
    assert page.locator(".ok-notice").inner_text() == "已完成：签收。"
    assert page.locator("dd[data-status]").inner_text() == "已签收"

    reply = "已更换水龙头阀芯，请试用。"
    page.fill("#resolve-reply", reply)
    page.click("#action-resolve button[type=submit]")
    page.locator(".ok-notice").wait_for()
    assert page.locator("dd[data-status]").inner_text() == "已办结"
    assert reply in page.locator(".task-history").inner_text()
    fits_the_phone(page)
    screenshot(page, "console-task-resolved")

    view = task(stack, created["id"])
    assert (view["status"], view["reply"], view["assignee"]) == ("resolved", reply, MEMBER)
    with httpx.Client(timeout=15) as http:

        def resident_sees_it() -> dict[str, Any] | None:
            body = http.get(f"{stack.url('intake')}/v1/track/{code}").json()
            return body if body["status"] == "resolved" else None

        tracked = wait_sync(resident_sees_it, timeout=30, what="intake's tracking view to show the resolution")
        assert tracked["public_note"] == reply


def test_a_supervisor_dispatches_a_returned_task_again(stack: Stack, new_page: Any) -> None:
    created = file_request(stack, "小区门口路灯不亮")
    code = created["tracking_code"]
    member = new_page()
    sign_in(member, stack, MEMBER)
    member.goto(f"{stack.url('routing')}/console/tasks/{created['id']}")
    member.click("#action-return summary")
    member.select_option("#return-reason_code", "outside_remit")
    member.fill("#return-note", "路灯归街道管理，不属物业")
    member.click("#action-return button[type=submit]")
    member.wait_for_url("**/console/?done=return")
    assert member.locator(f'li[data-code="{code}"]').count() == 0

    sup = new_page(viewport=DESKTOP)
    sign_in(sup, stack, SUPERVISOR)
    sup.click("nav.console-nav >> text=督办")
    sup.wait_for_url("**/console/supervise")
    card = sup.locator(f'#returned li[data-code="{code}"]')
    card.wait_for()
    assert "不属本部门职责" in card.inner_text()
    screenshot(sup, "console-supervise")
    card.locator("select[name=team_id]").select_option("community_work_group")
    card.locator("button[type=submit]").click()
    sup.wait_for_url("**/console/supervise?done=dispatch")
    assert sup.locator(".ok-notice").inner_text() == "已完成：派单。"
    assert sup.locator(f'#returned li[data-code="{code}"]').count() == 0

    view = task(stack, created["id"])
    assert (view["status"], view["team"]["id"]) == ("dispatched", "community_work_group")
    assert [h["action"] for h in view["history"]][-2:] == ["return", "dispatch"]


def kpis(page: Any) -> dict[str, str]:
    keys = ("count", "resolved", "reply_rate", "on_time_closure_rate")
    return {k: page.locator(f'[data-kpi="{k}"] .kpi-value').inner_text().strip() for k in keys}


def test_the_dashboard_shows_the_new_counts_after_work_is_done(stack: Stack, new_page: Any) -> None:
    page = new_page(viewport=DESKTOP)
    sign_in(page, stack, SUPERVISOR)
    page.click("nav.console-nav >> text=台账")
    page.wait_for_url("**/console/ledger")
    before = kpis(page)

    created = file_request(stack, "楼道扶手松动")
    with httpx.Client(timeout=15) as http:
        member = api_token(http, stack, MEMBER)
        routing = stack.url("routing")
        for action, body in (("claim", None), ("resolve", {"reply": "扶手已加固。"})):
            r = http.post(f"{routing}/v1/tasks/{created['id']}/{action}", json=body, headers=member)
            assert r.status_code == 200, r.text

    page.reload()
    after = kpis(page)
    assert int(after["count"]) == int(before["count"]) + 1
    assert int(after["resolved"]) == int(before["resolved"]) + 1
    assert after["reply_rate"].endswith("%") and after["on_time_closure_rate"] == "100%"
    assert page.locator("svg.chart").count() == 3
    team_row = page.locator('#chart-team tr[data-group="property_maintenance"] td[data-column="resolved"]')
    assert int(team_row.text_content() or "0") >= 1  # (in the closed "figures" table)
    screenshot(page, "ledger-dashboard")

    with page.expect_download() as download:
        page.click('#chart-category [data-download="csv-category"]')
    rows = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8-sig").read())))
    assert rows[-1]["类别"] == "合计" and rows[-1]["受理件数"] == after["count"]

    phone = new_page()
    sign_in(phone, stack, SUPERVISOR)
    phone.goto(f"{stack.url('routing')}/console/ledger")
    assert phone.locator('[data-kpi="count"] .kpi-value').inner_text().strip() == after["count"]
    fits_the_phone(phone)
    screenshot(phone, "ledger-dashboard-phone")


def test_the_queue_refreshes_by_itself_when_new_work_arrives(stack: Stack, new_page: Any) -> None:
    page = new_page()
    sign_in(page, stack, MEMBER)
    page.evaluate("window.__sameDocument = true")
    created = file_request(stack, "地下室有积水")
    card = page.locator(f'li[data-code="{created["tracking_code"]}"]')
    card.wait_for(timeout=30_000)  # the page polls every few seconds
    assert page.evaluate("window.__sameDocument === true")  # no reload: the list was swapped in place
    assert "is-new" in (card.get_attribute("class") or "")
    expect(page.locator("#live")).to_contain_text("队列已更新（新工单 1 件）")  # said to screen readers
    screenshot(page, "console-queue-refreshed")


def test_the_english_switch_is_remembered(stack: Stack, new_page: Any) -> None:
    created = file_request(stack, "阳台晾衣架掉了")
    page = new_page(locale="en-US")
    page.goto(f"{stack.url('routing')}/console/login")
    assert page.locator("h1").inner_text() == "工作人员登录"  # zh-CN first, whatever the browser's locale
    page.click("text=English")
    assert page.locator("h1").inner_text() == "Staff sign-in"
    page.fill("#username", MEMBER)
    page.fill("#password", "dev-password")
    page.click("form.card button[type=submit]")
    page.wait_for_url(f"{stack.url('routing')}/console/")
    assert page.locator("h1").inner_text() == "Property maintenance: open work"
    assert page.locator("html").get_attribute("lang") == "en"
    page.goto(f"{stack.url('routing')}/console/tasks/{created['id']}")
    assert page.locator("#actions-h").inner_text() == "What you can do"
    assert page.locator("form.primary-action button").inner_text() == "Claim"
    screenshot(page, "console-task-en")
    page.click("text=中文")
    assert page.locator("#actions-h").inner_text() == "可办理的操作"


def test_keyboard_only(stack: Stack, new_page: Any) -> None:
    """Sign in, find the new task and claim it with the keyboard alone."""
    created = file_request(stack, "单元门禁刷卡没反应")
    page = new_page()
    page.goto(f"{stack.url('routing')}/console/login")
    page.focus(".skip-link")  # hidden until focused, then on screen
    box = page.locator(".skip-link").bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0
    page.focus("#username")
    page.keyboard.type(MEMBER)
    page.keyboard.press("Tab")
    page.keyboard.type("dev-password")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{stack.url('routing')}/console/")
    claim = f'li[data-code="{created["tracking_code"]}"] form button'
    page.locator(claim).wait_for()
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.activeElement === document.querySelector('{claim}')"):
            break
    else:
        raise AssertionError("the claim button cannot be reached with Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "the focused button shows no focus ring"
    screenshot(page, "console-keyboard-focus")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/console/tasks/{created['id']}?done=claim")
    assert page.locator("dd[data-status]").inner_text() == "已签收"
