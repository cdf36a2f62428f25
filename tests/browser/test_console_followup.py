"""Call-backs (回访) and duplicates (并单) in the staff console, in headless Chromium against the stack as
`make run` starts it: (a) a dissatisfied resident's request lands in the desk's call-back list, and a desk member
records the rating the resident gave on the phone; (b) two reports of the same leak are flagged to each other
and a member merges one into the other in one step (its resident is told)."""

from __future__ import annotations

from typing import Any

import httpx

from huiying.stack import Stack
from tests.browser.conftest import screenshot
from tests.browser.test_console_staff import MEMBER, api_token, file_request, fits_the_phone, sign_in, task
from tests.support import wait_sync

DESK = "community_work_group.member"


def resolve(stack: Stack, request_id: str) -> None:
    with httpx.Client(timeout=15) as http:
        token = api_token(http, stack, MEMBER)
        for action, body in (("claim", None), ("resolve", {"reply": "已更换水管接头，请试用。"})):
            r = http.post(f"{stack.url('routing')}/v1/tasks/{request_id}/{action}", headers=token, json=body)
            assert r.status_code == 200, r.text


def test_the_desk_records_a_rating_given_on_a_call_back(stack: Stack, new_page: Any) -> None:
    created = file_request(stack, "卫生间下水道堵了，水排不下去", building="11号楼")
    resolve(stack, created["id"])
    with httpx.Client(timeout=15) as http:
        r = http.post(f"{stack.url('intake')}/v1/feedback/{created['tracking_code']}", json={"rating": "dissatisfied"})
        assert r.status_code in (200, 201, 202), r.text
    wait_sync(lambda: task(stack, created["id"])["followup_open"], timeout=30, what="the call-back to open")

    page = new_page()
    sign_in(page, stack, DESK)
    page.click("nav.console-nav a[href='/console/followups']")
    page.wait_for_url("**/console/followups")
    item = page.locator(f'li[data-id="{created["id"]}"]')
    item.wait_for()
    assert "住户不满意" in item.inner_text()
    fits_the_phone(page)
    screenshot(page, "console-followups")
    item.locator("a.code").click()
    page.wait_for_url(f"**/console/followups/{created['id']}")
    assert "13800138000" in page.locator(".task-facts").inner_text()  # the desk needs the number to call

    page.check("input[name=outcome][value=reached]")
    page.select_option("#rating", "fairly_satisfied")
    page.fill("#comment", "住户说已经通了")
    page.click("form.action-form button[type=submit]")
    page.locator(".ok-notice[role=status]").wait_for()  # "saved"; "this call-back is done" sits below
    assert "这次回访已完成" in page.locator("main").inner_text()
    assert "基本满意" in page.locator(".calls").inner_text()
    screenshot(page, "console-followup-recorded")

    view = task(stack, created["id"])
    assert view["rating"] == "fairly_satisfied" and view["rating_source"] == "callback"
    assert view["followup"]["calls"][0]["caller"] == DESK and view["followup_open"] is False


def test_a_member_merges_a_flagged_duplicate_in_one_step(stack: Stack, new_page: Any) -> None:
    first = file_request(stack, "12号楼厨房水管漏水，水流到楼下了", building="12号楼")
    second = file_request(stack, "厨房的水管一直在漏水，楼下也渗水", building="12号楼")
    wait_sync(lambda: task(stack, second["id"])["duplicate_candidates"], timeout=30, what="the duplicate flag")

    page = new_page()
    sign_in(page, stack, MEMBER)
    card = page.locator(f'li[data-code="{second["tracking_code"]}"]')
    card.wait_for()
    assert "可能重复" in card.locator(".badges").inner_text()  # the mark on the queue row
    card.locator("a.code").click()
    page.wait_for_url(f"**/console/tasks/{second['id']}")
    section = page.locator(".task-duplicates")
    assert first["tracking_code"] in section.inner_text() and "同一单元" in section.inner_text()
    fits_the_phone(page)
    screenshot(page, "console-duplicates")
    section.locator(f'li[data-id="{first["id"]}"] form[action$="/merge"] button').click()
    page.locator(".ok-notice").wait_for()
    assert "已合并" in page.locator(".ok-notice").inner_text()

    merged = task(stack, second["id"])
    assert merged["status"] == "duplicate" and merged["duplicate_of"] == first["id"]
    with httpx.Client(timeout=15) as http:

        def told() -> Any:
            r = http.get(f"{stack.url('notify')}/v1/inbox/{second['tracking_code']}")
            messages = r.json().get("messages", []) if r.status_code == 200 else []
            return next((m for m in messages if m["event_type"] == "task.duplicate"), None)

        message = wait_sync(told, timeout=30, what="the merged resident's message")
        assert "不用再报" in message["body"] and first["tracking_code"] not in message["body"]
