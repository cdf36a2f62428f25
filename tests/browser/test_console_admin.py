"""Administration in the console, in headless Chromium against the stack as `make run` starts it: an admin
edits the SLA limits (a new version, visible in the audit log with before and after), imports next year's
holidays from a CSV file, and the calendar warning goes away. No page may log a JavaScript error."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import expect

from huiying.stack import Stack
from tests.browser.conftest import screenshot
from tests.browser.test_console_staff import DESKTOP, api_token, sign_in


def current(stack: Stack, name: str) -> dict[str, Any]:
    with httpx.Client(timeout=15) as http:
        r = http.get(f"{stack.url('routing')}/v1/admin/config/{name}", headers=api_token(http, stack, "admin"))
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]


def test_an_admin_edits_the_sla_limits_and_sees_the_change_in_the_audit_log(stack: Stack, new_page: Any) -> None:
    page = new_page(viewport=DESKTOP)
    sign_in(page, stack, "admin")
    page.click("a[href='/console/admin']")
    expect(page.locator("h1")).to_have_text("系统管理")
    page.click("tr[data-name='sla'] a")
    text = page.input_value("#body")
    assert "auto_close_after_days: 7" in text
    page.fill("#body", text.replace("auto_close_after_days: 7", "auto_close_after_days: 10"))
    page.fill("#note", "回访后十天自动归档")
    page.click("form.card button[type=submit]")
    expect(page.locator("#admin-saved")).to_be_visible()
    entry = page.locator("#audit-log li[data-name='sla']").first
    expect(entry).to_have_attribute("data-version", "2")
    expect(entry.locator(".audit-who")).to_contain_text("管理员")  # the display name of `admin`
    expect(entry.locator(".audit-note")).to_have_text("回访后十天自动归档")
    entry.locator("summary").click()
    expect(entry.locator(".audit-before")).to_contain_text("auto_close_after_days: 7")
    expect(entry.locator(".audit-after")).to_contain_text("auto_close_after_days: 10")
    screenshot(page, "console-admin-audit")
    assert current(stack, "sla")["body"]["auto_close_after_days"] == 10
    # (a bad edit's 422 is in tests/integration/routing/test_console_admin.py: Chromium logs a 422 as an error)


def test_next_years_holidays_are_imported_from_a_file(stack: Stack, new_page: Any, tmp_path: Path) -> None:
    last = max(
        int(d[:4]) if isinstance(d, str) else int(d["from"][:4]) for d in current(stack, "calendar")["body"]["holidays"]
    )
    year = max(last, datetime.now(UTC).year) + 1
    csv = tmp_path / f"{year}.csv"
    csv.write_text(f"date,kind,name\n{year}-01-01,休,元旦\n{year}-10-01,休,国庆节\n{year}-09-26,班,调休\n", "utf-8")
    page = new_page(viewport=DESKTOP)
    sign_in(page, stack, "admin")
    page.goto(f"{stack.url('routing')}/console/admin/calendar/import")
    page.fill("#year", str(year))
    page.set_input_files("#file", str(csv))
    page.click("form.card button[type=submit]")
    expect(page.locator("#admin-saved")).to_be_visible()
    expect(page.locator("#calendar-warning")).to_have_count(0)
    entry = page.locator("#audit-log li[data-name='calendar']").first
    expect(entry.locator(".audit-note")).to_contain_text(f"imported {year}")
    assert f"{year}-10-01" in current(stack, "calendar")["body"]["holidays"]
