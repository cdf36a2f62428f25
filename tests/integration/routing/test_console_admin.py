"""The console's administration pages (admins only): a YAML edit saved as a new version and shown in the
audit log, a bad edit answered 422 naming the field with nothing stored, a year of holidays uploaded from a
CSV file ending the calendar warning, and staff accounts created and disabled."""

from __future__ import annotations

import html
import re

import yaml

from tests.integration.routing.conftest import MovableClock, Routing, local
from tests.integration.routing.test_console_pages import ORIGIN, browser


async def test_only_admins_see_the_admin_pages(routing: Routing) -> None:
    async with browser(routing) as console:
        await console.sign_in("supervisor")
        assert (await console.get("/console/admin")).status_code == 403
        assert 'href="/console/admin"' not in (await console.get("/console/")).text
    async with browser(routing) as console:
        await console.sign_in("admin")
        page = await console.get("/console/admin")
        assert page.status_code == 200 and 'id="audit-log"' in page.text
        assert 'href="/console/admin"' in page.text


async def test_an_edit_in_the_console_is_a_new_version_in_the_audit_log(routing: Routing) -> None:
    async with browser(routing) as console:
        await console.sign_in("admin")
        form = await console.get("/console/admin/sla")
        text = re.search(r'<textarea id="body" name="body"[^>]*>(.*?)</textarea>', form.text, re.S)
        assert text is not None
        body = yaml.safe_load(html.unescape(text.group(1)))
        body["auto_close_after_days"] = 9
        r = await console.http.post(
            "/console/admin/sla",
            data={"csrf": console.csrf, "base_version": "1", "body": yaml.safe_dump(body), "note": "九天自动归档"},
            headers=ORIGIN,
        )
        assert r.status_code == 303 and r.headers["location"] == "/console/admin?done=sla", r.text
        assert routing.app.state.container.config.policy.auto_close_after_days == 9
        page = (await console.get("/console/admin?done=sla")).text
        assert 'data-name="sla" data-version="2"' in page and "九天自动归档" in page
        assert "auto_close_after_days: 9" in page  # the after side of the entry

        body["auto_close_after_days"] = "soon"
        r = await console.http.post(
            "/console/admin/sla",
            data={"csrf": console.csrf, "base_version": "2", "body": yaml.safe_dump(body)},
            headers=ORIGIN,
        )
        assert r.status_code == 422 and "auto_close_after_days" in r.text
        r = await console.http.post(
            "/console/admin/sla",
            data={"csrf": console.csrf, "base_version": "2", "body": "default: [oops"},
            headers=ORIGIN,
        )
        assert r.status_code == 422 and "YAML" in r.text
        # no CSRF token: refused
        r = await console.http.post("/console/admin/sla", data={"base_version": "2", "body": "{}"}, headers=ORIGIN)
        assert r.status_code == 403
        assert (await routing.app.state.container.admin.current("sla")).version == 2


async def test_a_csv_upload_imports_a_year_and_ends_the_warning(routing: Routing, clock: MovableClock) -> None:
    clock.set(local(2026, 12, 10, 9))
    async with browser(routing) as console:
        await console.sign_in("admin")
        page = await console.get("/console/admin")
        assert 'id="calendar-warning"' in page.text and "2026" in page.text
        csv = "date,kind,name\n2027-01-01,休,元旦\n2027-02-14,班,春节调休\n".encode()
        r = await console.http.post(
            "/console/admin/calendar/import",
            data={"csrf": console.csrf, "base_version": "1", "year": "2027"},
            files={"file": ("2027.csv", csv, "text/csv")},
            headers=ORIGIN,
        )
        assert r.status_code == 303, r.text
        assert 'id="calendar-warning"' not in (await console.get("/console/admin")).text
        r = await console.http.post(
            "/console/admin/calendar/import",
            data={"csrf": console.csrf, "base_version": "2", "year": "2028"},
            files={"file": ("2027.csv", csv, "text/csv")},
            headers=ORIGIN,
        )
        assert r.status_code == 422 and "2027-01-01 is not in 2028" in r.text


async def test_an_admin_creates_and_disables_a_staff_account(routing: Routing) -> None:
    async with browser(routing) as console:
        await console.sign_in("admin")
        new = {"username": "legal_aid.helper", "display_name": "李律师", "role": "member", "team": "legal_aid"}
        r = await console.http.post(
            "/console/admin/users", data={"csrf": console.csrf, **new, "password": "short"}, headers=ORIGIN
        )
        assert r.status_code == 422 and "password" in r.text
        r = await console.http.post(
            "/console/admin/users", data={"csrf": console.csrf, **new, "password": "a-long-password"}, headers=ORIGIN
        )
        assert r.status_code == 303, r.text
        assert 'data-username="legal_aid.helper"' in (await console.get("/console/admin/users")).text
        r = await console.http.post(
            "/console/admin/users/legal_aid.helper/active",
            data={"csrf": console.csrf, "active": "false"},
            headers=ORIGIN,
        )
        assert r.status_code == 303
        account = await routing.app.state.container.staff.get("legal_aid.helper")
        assert account is not None and not account.active
