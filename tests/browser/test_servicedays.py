"""Service days (便民服务日) in headless Chromium against the stack as `make run` starts it: a lead plans a
day in the console and changes it; a resident finds it on the portal (a phone's screen), signs up and gets
a sign-up code; the organising team's member sees the sign-up with a masked phone and ticks the resident
as come; the figures count it. No page may log a JavaScript error."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from playwright.sync_api import expect

from huiying.stack import Stack
from tests.browser.conftest import screenshot
from tests.browser.test_console_staff import DESKTOP, fits_the_phone, sign_in
from tests.support import wait_sync

LEAD, MEMBER = "community_work_group.lead", "community_work_group.member"


def test_a_day_planned_signed_up_for_and_attended(stack: Stack, new_page: Any) -> None:
    routing, intake = stack.url("routing"), stack.url("intake")
    day = (date.today() + timedelta(days=7)).isoformat()

    # A lead plans the day in the console.
    staff = new_page(viewport=DESKTOP)
    sign_in(staff, stack, LEAD)
    staff.click("a[href='/console/servicedays']")
    staff.click("a[href='/console/servicedays/new']")
    staff.fill("#title_zh", "二·八便民服务日")
    staff.fill("#date", day)
    staff.fill("#place_zh", "社区广场")
    staff.fill("#places_haircut", "2")
    staff.fill("#places_blood_pressure", "30")
    staff.click("form.card button[type=submit]")
    expect(staff.locator(".ok-notice")).to_contain_text("居民现在可以报名")
    day_url = staff.url.split("?")[0]
    day_id = day_url.rsplit("/", 1)[1]
    # ... and changes it: three haircut places after all.
    staff.click("a[data-edit]")
    expect(staff.locator("#places_haircut")).to_have_value("2")
    staff.fill("#places_haircut", "3")
    staff.click("form.card button[type=submit]")
    expect(staff.locator(".ok-notice")).to_contain_text("已修改")

    # A resident finds it on the portal and signs up for a haircut.
    resident = new_page()
    resident.goto(f"{intake}/")
    resident.click("a[data-service-days]")

    def changed() -> bool:
        resident.reload()
        card = resident.locator(f"[data-day='{day_id}']")
        return card.count() == 1 and "理发：还剩 3 个名额" in card.inner_text()

    wait_sync(changed, timeout=30, what="the changed day on the portal")
    card = resident.locator(f"[data-day='{day_id}']")
    fits_the_phone(resident)
    screenshot(resident, "portal-service-days")
    card.locator("a.button").click()
    resident.click("button[type=submit]")  # nothing filled in: every problem is named
    expect(resident.locator(".error-summary")).to_contain_text("请至少选择一项服务")
    resident.check("input[name=services][value=haircut]")
    resident.fill("#f-name", "王秀兰")
    resident.fill("#f-phone", "13800138000")
    resident.click("button[type=submit]")
    expect(resident.locator(".notice.success")).to_contain_text("报名成功")
    code = resident.locator("[data-signup-code]").get_attribute("data-signup-code")
    assert code and code.startswith("HY")
    expect(resident.locator("dl.facts")).to_contain_text("138****8000")
    expect(resident.locator("dl.facts")).not_to_contain_text("13800138000")
    # notify's confirmation shows on the sign-up page (the code reads the inbox like a tracking code)
    expect(resident.locator("[data-inbox-list]")).to_contain_text("报名成功", timeout=30_000)
    fits_the_phone(resident)
    screenshot(resident, "portal-service-day-signed-up")

    # The team's member sees the sign-up (masked phone) and ticks the resident as come.
    member = new_page(viewport=DESKTOP)
    sign_in(member, stack, MEMBER)
    row = member.locator(f"[data-signup='{code}']")

    def on_the_list() -> bool:
        member.goto(f"{routing}/console/servicedays/{day_id}")
        return row.count() == 1

    wait_sync(on_the_list, timeout=30, what="the sign-up on the attendance list")
    expect(row).to_contain_text("138****8000")
    expect(row).to_contain_text("理发")
    assert "13800138000" not in member.content()
    row.locator("button[data-tick]").click()
    expect(member.locator(f"[data-signup='{code}'] [data-attended]")).to_be_visible()
    expect(member.locator("[data-figures]")).to_contain_text("报名 1 人，到场 1 人")
    expect(member.locator("[data-service='haircut']")).to_contain_text("3")
    screenshot(member, "console-service-day")
