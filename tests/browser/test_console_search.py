"""Staff search, bulk actions and canned replies in the console, in headless Chromium against the stack as
`make run` starts it (issue 15): (a) a member searches by a word of the description (水管 finds 厨房水管漏水)
and by the phone's last four digits, and saves the search; (b) a member ticks three tasks in the queue and
claims them at once: two are claimed, the one a colleague took is refused with the reason; (c) a lead adds
a canned reply; a member picks it on the reply form, changes it and resolves with it."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import expect

from huiying.stack import Stack
from tests.browser.conftest import screenshot
from tests.browser.test_console_staff import DESKTOP, MEMBER, api_token, file_request, sign_in, task

LEAD = "property_maintenance.lead"


def test_a_member_searches_by_words_and_phone_and_saves_the_search(stack: Stack, new_page: Any) -> None:
    leak = file_request(stack, "厨房水管漏水")
    lock = file_request(stack, "卫生间门锁坏了")
    page = new_page(viewport=DESKTOP)
    sign_in(page, stack, MEMBER)
    page.click("nav.console-nav >> text=搜索")
    page.wait_for_url("**/console/search")
    page.fill("#s-q", "水管")
    page.click("form.search-form button[type=submit]")
    page.locator("#results").wait_for()
    expect(page.locator(f'#results li[data-code="{leak["tracking_code"]}"]')).to_be_visible()
    assert page.locator(f'#results li[data-code="{lock["tracking_code"]}"]').count() == 0
    page.fill("#view-name", "水管的活")
    page.click("form.save-view button[type=submit]")
    page.locator(".ok-notice").wait_for()
    expect(page.locator(".saved-views a", has_text="水管的活")).to_be_visible()
    screenshot(page, "console-search")

    page.goto(f"{stack.url('routing')}/console/search?phone=8000")
    expect(page.locator(f'#results li[data-code="{lock["tracking_code"]}"]')).to_be_visible()


def test_a_member_claims_three_ticked_tasks_at_once_and_sees_each_result(stack: Stack, new_page: Any) -> None:
    created = [file_request(stack, f"楼道灯坏了 第{i}处") for i in range(3)]
    with httpx.Client(timeout=15) as http:  # a colleague takes the second one first
        r = http.post(f"{stack.url('routing')}/v1/tasks/{created[1]['id']}/claim", headers=api_token(http, stack, LEAD))
        assert r.status_code == 200, r.text
    page = new_page(viewport=DESKTOP)
    sign_in(page, stack, MEMBER)
    for c in created:
        page.locator(f'li[data-code="{c["tracking_code"]}"] input.select').check()
    page.select_option("#bulk-action", "claim")
    page.click("#bulk button[type=submit]")
    page.locator("table.bulk-results").wait_for()
    assert "完成 2 件，未能办理 1 件" in page.locator("[role=status]").inner_text()
    refused = page.locator(f'tr.refused[data-id="{created[1]["id"]}"]')
    expect(refused).to_contain_text("签收")  # why: it is no longer waiting to be claimed
    expect(page.locator("tr.done")).to_have_count(2)
    screenshot(page, "console-bulk")
    assert [task(stack, c["id"])["assignee"] for c in created] == [MEMBER, LEAD, MEMBER]


def test_a_canned_reply_is_picked_changed_and_sent(stack: Stack, new_page: Any) -> None:
    lead = new_page(viewport=DESKTOP)
    sign_in(lead, stack, LEAD)
    lead.click("nav.console-nav >> text=常用回复")
    lead.wait_for_url("**/console/replies")
    lead.select_option("#new-kind", "property_repair")
    lead.fill("#new-title", "已派师傅")
    lead.fill("#new-text", "您好，{team}已安排师傅处理您的{kind}。")
    lead.click("section form.action-form button[type=submit]")
    lead.locator(".ok-notice").wait_for()
    expect(lead.locator(".reply h2", has_text="已派师傅")).to_be_visible()

    created = file_request(stack, "阳台水管滴水")
    page = new_page()
    sign_in(page, stack, MEMBER)
    page.goto(f"{stack.url('routing')}/console/tasks/{created['id']}")
    page.click("form.primary-action button")  # 签收
    page.locator(".ok-notice").wait_for()
    page.select_option("#resolve-canned", label="已派师傅")
    filled = page.input_value("#resolve-reply")
    assert filled.startswith("您好，物业维修组已安排师傅处理您的") and "{" not in filled
    page.fill("#resolve-reply", filled + "师傅今天下午到。")
    page.click("#action-resolve button[type=submit]")
    page.locator(".ok-notice").wait_for()
    assert task(stack, created["id"])["reply"] == filled + "师傅今天下午到。"
