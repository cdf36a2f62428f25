"""Personal data in the staff console (issue 15 point 7), in headless Chromium against the stack as `make run`
starts it: a lead who is not the assignee sees the resident's phone masked, reveals it (with a reason), and the
supervisor finds the reveal in the access log; an admin asks for a resident's export and downloads it once
the three services have answered. No page may log a JavaScript error."""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import expect

from huiying.stack import Stack
from tests.browser.conftest import screenshot
from tests.browser.test_console_staff import file_request, sign_in

LEAD = "property_maintenance.lead"
PHONE = "13800138000"
E164 = "+8613800138000"  # as intake stores and sends it


def test_a_lead_reveals_the_phone_and_the_supervisor_sees_it_logged(stack: Stack, new_page: Any) -> None:
    created = file_request(stack, "水管漏水，请回电")
    page = new_page()
    sign_in(page, stack, LEAD)
    page.goto(f"{stack.url('routing')}/console/tasks/{created['id']}")
    expect(page.locator("#resident-phone")).to_have_text("138****8000")
    assert PHONE not in page.content()
    page.fill("#reveal-reason", "居民要求回电")
    page.click("#reveal-phone button[type=submit]")
    expect(page.locator("#revealed-phone")).to_have_text(E164)
    expect(page.locator("#revealed-phone")).to_have_attribute("href", f"tel:{E164}")
    screenshot(page, "console-privacy-revealed")
    # Back on the task: masked again (a reveal is one look, not a permission).
    page.click("text=返回工单")
    expect(page.locator("#resident-phone")).to_have_text("138****8000")

    boss = new_page(viewport=(1280, 900))
    sign_in(boss, stack, "supervisor")
    boss.click("nav >> text=个人信息")
    row = boss.locator("table.access-audit tr[data-action=reveal_phone]").filter(has_text=created["tracking_code"])

    expect(row).to_have_count(1)
    expect(row).to_contain_text("居民要求回电")
    expect(row).to_contain_text("138****8000")
    assert PHONE not in boss.content()
    screenshot(boss, "console-privacy-audit")


def test_an_admin_exports_a_residents_data_from_the_three_services(stack: Stack, new_page: Any) -> None:
    created = file_request(stack, "楼道灯不亮")
    page = new_page(viewport=(1280, 900))
    sign_in(page, stack, "admin")
    page.goto(f"{stack.url('routing')}/console/privacy")
    page.fill("#pr-code", created["tracking_code"])
    page.fill("#pr-reason", "居民书面申请")
    page.click("#privacy-request button[type=submit]")
    expect(page.locator("p.notice.ok-notice")).to_be_visible()
    row = page.locator("table.privacy-requests tbody tr").first

    def all_done() -> bool:
        page.reload()
        return "3/3" in row.locator("td.progress").inner_text()

    for _ in range(60):
        if all_done():
            break
        page.wait_for_timeout(500)  # polling the page with a deadline (60 x 0.5 s), not a bare sleep
    expect(row.locator("td.progress")).to_have_text("3/3 完成")
    with page.expect_download() as downloading:
        row.locator("a[download]").click()
    export = json.loads(open(downloading.value.path(), encoding="utf-8").read())
    assert set(export["data"]) == {"intake", "routing", "notify"}
    assert created["tracking_code"] in json.dumps(export["data"]["intake"], ensure_ascii=False)
    assert PHONE in json.dumps(export["data"]["routing"])
    screenshot(page, "console-privacy-export")
