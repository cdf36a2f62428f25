"""The care register (走访慰问) in headless Chromium against the stack as `make run` starts it: a supervisor
registers a household (last visited ten days ago, every 7 days, so a visit is due at once), the sweeper makes
the visit a task for the grid worker, the supervisors' page lists the household as overdue; the worker finds it
in the register, records the visit and files a request for the household in the same step; the request reaches
the property team's queue, filed on the household's behalf, and the household is no longer overdue."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import expect

from huiying.stack import Stack
from tests.browser.conftest import kept_stack, screenshot
from tests.browser.test_console_staff import DESKTOP, api_token, fits_the_phone, sign_in
from tests.support import wait_sync

WORKER, SUPERVISOR = "community_work_group.member", "supervisor"
SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, amqp_url: str) -> Iterator[Stack]:
    # The SLA sweeper (which opens visits) every half second instead of every 15 s.
    yield from kept_stack(tmp_path_factory, HUIYING_ROUTING_SLA_SWEEP_INTERVAL_S="0.5")


def household(stack: Stack, household_id: str) -> dict[str, Any]:
    with httpx.Client(timeout=15) as http:
        r = http.get(
            f"{stack.url('routing')}/v1/care/households/{household_id}", headers=api_token(http, stack, SUPERVISOR)
        )
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]


def test_a_household_is_registered_visited_and_a_request_filed_for_it(stack: Stack, new_page: Any) -> None:
    base = stack.url("routing")
    name = f"李桂兰{uuid.uuid4().hex[:4]}"
    ten_days_ago = (datetime.now(SH) - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")

    sup = new_page(viewport=DESKTOP)
    sign_in(sup, stack, SUPERVISOR)
    sup.click("a[href='/console/care']")
    sup.click("#care-register-link")
    sup.fill("#name", name)
    sup.fill("#phone", "13900139000")
    sup.fill("#address", "幸福路8号 5号楼1单元302")
    sup.fill("#building", "5")
    sup.check("input[name=kinds][value=elderly_alone]")
    sup.fill("#consent_given_by", name)
    sup.fill("#consent_given_at", ten_days_ago)
    sup.select_option("#consent_how", "signed")
    sup.select_option("#team_id", "community_work_group")
    sup.select_option("#assignee", WORKER)
    sup.select_option("#frequency_days", "7")
    sup.fill("#last_visited_at", ten_days_ago)
    sup.click("form.care-form button[type=submit]")
    expect(sup.locator("#care-done")).to_be_visible()
    household_id = sup.url.split("/console/care/")[1].split("?")[0]
    expect(sup.locator("#care-overdue")).to_be_visible()

    # The entry is edited on its page: the household moved to building 6, and a second kind of care.
    sup.click("#care-edit summary")
    expect(sup.locator("#care-edit #name")).to_have_value(name)
    sup.fill("#care-edit #building", "6")
    sup.check("#care-edit input[name=kinds][value=disabled]")
    sup.click("#care-edit button[type=submit]")
    expect(sup.locator("#care-done")).to_be_visible()
    edited = household(stack, household_id)
    assert edited["building"] == "6" and edited["kinds"] == ["elderly_alone", "disabled"]
    assert edited["phone"].endswith("13900139000") and edited["assignee"] == WORKER  # the rest as it was

    # The sweeper opens the visit: a task for the grid worker, due three days ago, so escalated at once.
    def opened() -> bool:
        return household(stack, household_id)["visit"] is not None

    wait_sync(opened, timeout=30, what="the sweeper to open the visit")
    visit = household(stack, household_id)["visit"]
    assert visit["lead_at"] and visit["supervisor_at"]  # a missed visit: 催办 and 督办

    # notify took the due visit and the escalations: one message per addressed staff member (no resident).
    with httpx.Client(timeout=15) as http:
        token = api_token(http, stack, SUPERVISOR)

        def told() -> set[str] | None:
            r = http.get(f"{stack.url('notify')}/v1/deliveries", params={"request_id": f"care:{household_id}"},
                         headers=token)  # fmt: skip
            got = {d["recipient"] for d in r.json()["deliveries"]} if r.status_code == 200 else set()
            return got if {f"staff:{WORKER}", f"staff:{SUPERVISOR}"} <= got else None

        wait_sync(told, timeout=30, what="notify to tell the worker and the supervisors")

    sup.goto(f"{base}/console/supervise")
    overdue = sup.locator("#care-overdue-list")
    expect(overdue.locator(f"[data-household='{household_id}']")).to_be_visible()
    expect(overdue).to_contain_text("139****9000")  # lists mask the phone
    expect(overdue).not_to_contain_text("13900139000")
    screenshot(sup, "console-care-supervise")

    # The grid worker, on a phone: the register shows the household as overdue; they record the visit and file
    # a request for a leaking tap in the same step.
    worker = new_page()
    sign_in(worker, stack, WORKER)
    worker.click("a[href='/console/care']")
    row = worker.locator(f"[data-household='{household_id}']")
    expect(row.locator(".badge.overdue")).to_be_visible()
    fits_the_phone(worker)
    row.locator("a.code").click()
    expect(worker.locator("h1")).to_have_text(name)
    worker.fill("#found", "老人身体还好，按时吃药")
    worker.fill("#needs", "厨房水龙头一直滴水")
    worker.check("#file")
    worker.select_option("#service_code", "property_repair")
    description = f"厨房水龙头滴水，独居老人需要上门维修（{uuid.uuid4().hex[:4]}）"
    worker.fill("#file_description", description)
    screenshot(worker, "console-care-visit")
    worker.click("#visit-form button[type=submit]")
    expect(worker.locator("#care-done")).to_be_visible()
    expect(worker.locator(".care-visits li").first).to_contain_text("老人身体还好")
    expect(worker.locator("#care-overdue")).to_have_count(0)
    fits_the_phone(worker)

    # The request reaches the property team's queue, filed on the household's behalf by the worker.
    with httpx.Client(timeout=15) as http:
        token = api_token(http, stack, "property_maintenance.member")

        def in_queue() -> dict[str, Any] | None:
            r = http.get(f"{base}/v1/queue", headers=token)
            return next((t for t in r.json()["items"] if t.get("summary") == description), None)

        item = wait_sync(in_queue, timeout=30, what="the filed request in the property team's queue")
        r = http.get(f"{base}/v1/tasks/{item['id']}", headers=token)
        task = r.json()
        assert task["filed_by"] == WORKER and task["on_behalf"] is True and task["channel"] == "care"
        assert task["vulnerability"] == ["elderly_alone", "disabled"]  # as edited above

    # Visited: off the supervisors' overdue list.
    sup.goto(f"{base}/console/supervise")
    expect(sup.locator(f"#care-overdue-list [data-household='{household_id}']")).to_have_count(0)
