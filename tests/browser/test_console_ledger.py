"""The full ledgers on the console's ledger page, in headless Chromium against the stack as `make run` starts
it: a supervisor groups the figures by grid and by vulnerable group, filters by grid, reads the team
assessment, and downloads the full ledger (one row per request) as CSV and Excel."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import load_workbook

from huiying.stack import Stack
from tests.browser.conftest import screenshot
from tests.browser.test_console_staff import DESKTOP, SUPERVISOR, file_request, sign_in


def test_a_supervisor_groups_filters_and_downloads_the_full_ledger(stack: Stack, new_page: Any) -> None:
    in_grid_1 = file_request(stack, "楼道灯不亮", building="3号楼")  # grid 1 (deploy/teams.yaml)
    in_grid_2 = file_request(stack, "单元门关不上", building="8号楼")  # grid 2
    page = new_page(viewport=DESKTOP)
    sign_in(page, stack, SUPERVISOR)
    page.goto(f"{stack.url('routing')}/console/ledger")

    # the table below the charts: by grid (the default), then by vulnerable group
    grid_rows = page.locator('#by-group table[data-table="grid"] tbody tr[data-group]')
    assert {grid_rows.nth(i).get_attribute("data-group") for i in range(grid_rows.count())} >= {"grid-1", "grid-2"}
    page.select_option("#group_by", "vulnerable")
    page.click("#group-form button[type=submit]")
    page.wait_for_url("**group_by=vulnerable**")
    assert page.locator('#by-group table[data-table="vulnerable"] tr[data-group="none"]').count() == 1
    assert "各行相加可能多于合计" in page.locator("#by-group").inner_text()

    # the team assessment: a row per team with a score
    assessed = page.locator('#assessment tr[data-team="property_maintenance"]')
    assert assessed.count() == 1 and assessed.locator('td[data-column="received"]').inner_text().strip() != "0"

    # filter the whole page by grid 1
    page.select_option("#f-grid", "grid-1")
    page.click("form.filters button[type=submit] >> nth=0")
    page.wait_for_url("**grid=grid-1**")
    assert page.locator("#f-grid").input_value() == "grid-1"
    screenshot(page, "ledger-full-ledgers")

    # the full ledger, filtered like the page: CSV (UTF-8 with BOM, Chinese headers) and Excel
    with page.expect_download() as download:
        page.click('[data-download="csv-rows"]')
    raw = open(download.value.path(), "rb").read()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    ids = {row["工单编号"] for row in rows}
    assert in_grid_1["id"] in ids and in_grid_2["id"] not in ids
    mine = next(row for row in rows if row["工单编号"] == in_grid_1["id"])
    assert mine["楼栋"] == "3号楼" and mine["诉求类别"] and mine["承办团队"]
    assert "王阿姨" not in raw.decode("utf-8-sig") and "13800138000" not in raw.decode("utf-8-sig")

    with page.expect_download() as download:
        page.click('[data-download="xlsx-rows"]')
    assert download.value.suggested_filename.startswith("ledger-rows-")
    assert download.value.suggested_filename.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(open(download.value.path(), "rb").read())).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:3] == ("工单编号", "受理时间", "诉求类别")
    assert in_grid_1["id"] in {row[0] for row in values[1:]}
