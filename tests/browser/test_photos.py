"""Photos and additions in headless Chromium against the stack as `make run` starts it: a resident attaches a
photo on the portal's request form, a staff member sees its thumbnail on the console's task page (an image
that really loaded, from intake, through the signed link), and the resident adds a note on the track page,
which the task's history shows with the "new from the resident" mark. No page may log a JavaScript error."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import expect

from huiying.stack import Stack
from tests.browser.conftest import screenshot
from tests.browser.test_console_staff import api_token, sign_in
from tests.browser.test_portal_resident import fill_repair_request
from tests.support import wait_sync
from tests.support_photos import jpeg_with_gps

MEMBER = "property_maintenance.member"


def test_a_residents_photo_reaches_the_task_page_and_a_note_is_added_later(
    stack: Stack, new_page: Any, tmp_path: Path
) -> None:
    intake, routing = stack.url("intake"), stack.url("routing")
    photo = tmp_path / "leak.jpg"
    photo.write_bytes(jpeg_with_gps((800, 600)))

    resident = new_page()
    resident.goto(f"{intake}/request/property_repair?lang=zh-CN")
    fill_repair_request(resident, description="卫生间顶上在滴水，附照片")
    resident.get_by_label("照片（选填，最多5张）").set_input_files(str(photo))
    resident.get_by_role("button", name="提交").click()
    resident.wait_for_url(re.compile(r"/track/HY[0-9A-Z]{10}\?new=1$"))
    code = str(resident.locator("[data-tracking-code]").get_attribute("data-tracking-code"))
    thumb = resident.locator("ul.photos img").first
    expect(thumb).to_be_visible()
    assert resident.evaluate("(img) => img.naturalWidth", thumb.element_handle()) > 0

    with httpx.Client(timeout=15) as http:
        request_id = http.get(f"{intake}/v1/track/{code}").json()["id"]
        token = api_token(http, stack, MEMBER)

        def dispatched() -> bool:
            r = http.get(f"{routing}/v1/tasks/{request_id}", headers=token)
            return r.status_code == 200 and r.json()["status"] == "dispatched"

        wait_sync(dispatched, timeout=30, what="routing to dispatch the request")

    staff = new_page()
    sign_in(staff, stack, MEMBER)
    staff.goto(f"{routing}/console/tasks/{request_id}")
    image = staff.locator("ul.photos img[data-photo]").first
    expect(image).to_be_visible()
    assert image.get_attribute("src").startswith(f"{intake}/v1/requests/{request_id}/photos/")  # type: ignore[union-attr]
    wait_sync(
        lambda: staff.evaluate("(img) => img.complete && img.naturalWidth", image.element_handle()) > 0,
        timeout=15,
        what="the thumbnail to load from intake",
    )
    screenshot(staff, "console-task-photos")

    # The resident adds a note on the track page; the staff's task page shows it at once, marked.
    resident.get_by_label("补充说明").fill("楼下邻居说他家天花板也湿了")
    resident.get_by_role("button", name="提交补充").click()
    resident.wait_for_url(re.compile(r"\?added=1"))
    expect(resident.locator("#add-done")).to_be_visible()

    def added_in_history() -> bool:
        staff.reload()
        return staff.get_by_text("楼下邻居说他家天花板也湿了").count() > 0

    wait_sync(added_in_history, timeout=30, what="the addition in the task's history")
    expect(staff.locator("[data-resident-added]").first).to_be_visible()
    staff.goto(f"{routing}/console/")
    expect(staff.locator(f"li:has-text('{code}') [data-resident-added]").first).to_be_visible()
