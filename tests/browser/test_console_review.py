"""Reply review (审核) in the staff console, in headless Chromium against the stack as `make run` starts it,
with review on for the repair team: a member's reply waits for the lead (the resident's tracking page does not
show it), the lead sends it back with a note, the member sees the note and answers again, the lead edits the
words and approves, and the resident's tracking page shows the approved reply."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from huiying.stack import Stack
from services.routing.config import DEPLOY
from tests.browser.conftest import kept_stack, screenshot
from tests.browser.test_console_staff import MEMBER, file_request, fits_the_phone, sign_in, task
from tests.support import wait_sync

LEAD = "property_maintenance.lead"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, amqp_url: str) -> Iterator[Stack]:
    """The stack with `review: true` for the repair team (deploy/teams.yaml otherwise as shipped)."""
    config = yaml.safe_load((DEPLOY / "teams.yaml").read_text(encoding="utf-8"))
    for team in config["teams"]:
        if team["id"] == "property_maintenance":
            team["review"] = True
    path = Path(tmp_path_factory.mktemp("review-teams")) / "teams.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    yield from kept_stack(tmp_path_factory, HUIYING_TEAMS_PATH=str(path))


def tracked(stack: Stack, code: str) -> dict[str, Any]:
    with httpx.Client(timeout=15) as http:
        body: dict[str, Any] = http.get(f"{stack.url('intake')}/v1/track/{code}").json()
        return body


def test_a_members_reply_reaches_the_resident_only_after_the_lead_approves(stack: Stack, new_page: Any) -> None:
    created = file_request(stack, "卫生间门锁坏了，锁不上")
    rid, code = created["id"], created["tracking_code"]

    # The member claims and writes a reply: it waits for review.
    member = new_page()
    sign_in(member, stack, MEMBER)
    member.goto(f"{stack.url('routing')}/console/tasks/{rid}")
    member.click("form.primary-action button")  # 签收
    member.locator(".ok-notice").wait_for()
    wait_sync(lambda: tracked(stack, code)["status"] == "claimed", timeout=30, what="intake to show the claim")
    member.fill("#resolve-reply", "门锁修好了。")
    member.click("#action-resolve button[type=submit]")
    member.locator(".ok-notice").wait_for()
    assert member.locator("dd[data-status]").inner_text() == "待审核"
    assert "门锁修好了。" in member.locator(".review-box").inner_text()
    assert member.locator(".badge.status-awaiting_review").inner_text() == "待审核"
    assert tracked(stack, code)["status"] == "claimed"  # the resident has not been told anything
    # A member has no review page (asked with the member's session, outside the page: a 403 logs a console error).
    refused = member.request.get(f"{stack.url('routing')}/console/review")
    assert refused.status == 403 and "只有组长、督办人员或管理员可以审核答复" in refused.text()
    assert member.locator("nav.console-nav a[href='/console/review']").count() == 0

    # The lead sees it under 审核 and sends it back with a note.
    lead = new_page()
    sign_in(lead, stack, LEAD)
    lead.click("nav.console-nav a[href='/console/review']")
    lead.wait_for_url("**/console/review")
    item = lead.locator(f'li[data-id="{rid}"]')
    item.wait_for()
    assert "门锁修好了。" in item.locator(".proposed-reply").inner_text()
    assert item.locator(f'[data-submitted-by="{MEMBER}"]').count() == 1
    fits_the_phone(lead)
    screenshot(lead, "console-review")
    item.locator("details.action summary", has_text="退回修改").click()
    item.locator("textarea[name=note]").fill("请写明更换了什么、什么时候换的")
    item.locator(".send-back-form button[type=submit]").click()
    lead.locator(".ok-notice").wait_for()
    assert lead.locator(".ok-notice").inner_text() == "已完成：退回修改。"
    assert lead.locator(f'li[data-id="{rid}"]').count() == 0

    # The member's queue marks it; the task page shows the lead's note; the member answers again.
    member.goto(f"{stack.url('routing')}/console/")
    card = member.locator(f'li[data-code="{code}"]')
    card.wait_for()
    assert "答复被退回" in card.locator(".badges").inner_text()
    card.locator("a.code").click()
    member.wait_for_url(f"**/console/tasks/{rid}")
    assert "请写明更换了什么" in member.locator(".review-box .lead-note").inner_text()
    fits_the_phone(member)
    screenshot(member, "console-review-sent-back")
    member.fill("#resolve-reply", "已更换门锁锁芯")
    member.click("#action-resolve button[type=submit]")
    member.locator(".ok-notice").wait_for()
    assert member.locator("dd[data-status]").inner_text() == "待审核"

    # The lead edits the words and approves: now the resident hears it.
    lead.goto(f"{stack.url('routing')}/console/review")
    item = lead.locator(f'li[data-id="{rid}"]')
    item.wait_for()
    reply = "已于今天下午更换卫生间门锁锁芯，请试用。"
    item.locator("textarea[name=reply]").fill(reply)
    item.locator(".approve-form button[type=submit]").click()
    lead.locator(".ok-notice").wait_for()
    assert lead.locator(".ok-notice").inner_text() == "已完成：审核通过。"

    view = task(stack, rid)
    assert (view["status"], view["reply"], view["review"]["status"]) == ("resolved", reply, "approved")
    seen = wait_sync(
        lambda: (t := tracked(stack, code))["status"] == "resolved" and t,
        timeout=30,
        what="the resident's tracking page to show the approved reply",
    )
    assert seen["public_note"] == reply
