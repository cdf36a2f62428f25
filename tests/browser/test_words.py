"""Plain words, a short form and labels, in headless Chromium, in both languages (issue 13, points 3-5 and 7).

The stack of this module has an SMS gateway configured (HUIYING_NOTIFY_SMS_URL, an address nobody answers:
the deliveries fail and retry, which no page shows), so a resident who gives a mobile hears back by SMS.
The browser runs in an English locale on purpose: a Chinese page must still read in Chinese (dates too).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from huiying.stack import Stack
from tests.browser.conftest import kept_stack, screenshot
from tests.browser.test_console_staff import DESKTOP, api_token, file_request, sign_in, task
from tests.support import wait_sync

CODE_PAGE = re.compile(r"/track/HY[0-9A-Z]{10}\?new=1$")
JARGON_ON_PAGES = ("派单", "签收", "办结", "归档", "不予受理", "受理编号", "遗孀", "三非")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, amqp_url: str) -> Iterator[Stack]:
    yield from kept_stack(tmp_path_factory, HUIYING_NOTIFY_SMS_URL="http://127.0.0.1:9/sms")


def no_jargon(page: Any) -> None:
    text = page.locator("main").inner_text()
    assert [w for w in JARGON_ON_PAGES if w in text] == [], page.url


def test_the_short_form_in_chinese(stack: Stack, new_page: Any) -> None:
    intake = stack.url("intake")
    page = new_page(locale="en-US")  # an English browser on the Chinese page
    page.goto(f"{intake}/request/property_repair?lang=zh-CN")
    form = page.locator("form[data-once]")
    # The one required field first; the optional questions folded away until opened.
    first = form.locator("textarea, input:not([type=hidden]), select").first
    assert first.get_attribute("name") == "description"
    assert not page.get_by_role("radio", name="厨房").is_visible()
    assert page.locator("#more-questions").get_attribute("open") is None
    # Address and building carry the one rule the server checks: at least one of them.
    assert page.locator("label[for=f-location-address] .tag").inner_text() == "至少填一项"
    assert page.locator("label[for=f-location-building] .tag").inner_text() == "至少填一项"
    assert "至少填一项" in page.locator("#where-hint").inner_text()
    # The phone says what it takes; the way to hear back says SMS is the default.
    assert "座机" in page.locator("#f-resident-phone-hint").inner_text()
    assert "短信" in page.locator("#f-resident-preferred-channel-hint").inner_text()
    assert page.locator("input[name='resident.preferred_channel']:checked").count() == 0
    no_jargon(page)
    screenshot(page, "portal-short-form-zh")

    page.locator("#more-questions > summary").click()
    page.get_by_role("radio", name="厨房").check()
    # Date and time as selects in Chinese, whatever the browser's language: no mm/dd/yyyy picker.
    assert page.locator("input[type=datetime-local], input[type=date]").count() == 0
    page.get_by_label("月", exact=True).select_option(label="5月")
    assert page.get_by_label("年", exact=True).locator("option").nth(1).inner_text().endswith("年")
    page.get_by_label("日", exact=True).select_option(label="1日")
    # Half a date: named at the question, in Chinese.
    page.get_by_label("请描述问题").fill("厨房水管漏水")
    page.get_by_label("楼栋").fill("3号楼")
    page.get_by_label("您的称呼").fill("王阿姨")
    page.get_by_role("button", name="提交").click()
    page.locator(".error-summary").wait_for()
    assert page.locator("#f-attributes-home-from-error").inner_text() == "请选择日期和时间。"
    assert page.locator("#more-questions").get_attribute("open") is not None  # reopened where the problem is


def test_the_short_form_in_english(stack: Stack, new_page: Any) -> None:
    intake = stack.url("intake")
    page = new_page(locale="zh-CN")
    page.goto(f"{intake}/request/property_repair?lang=en")
    assert page.locator("label[for=f-location-building] .tag").inner_text() == "at least one"
    assert "landline" in page.locator("#f-resident-phone-hint").inner_text()
    page.locator("#more-questions > summary").click()
    page.get_by_label("Month", exact=True).select_option(label="May")
    assert page.get_by_label("Day", exact=True).locator("option").nth(1).inner_text() == "1"
    # The care-visit form asks the household's situation once, not again as "particular care".
    page.goto(f"{intake}/request/care_visit?lang=en")
    page.locator("#more-details > summary").click()
    assert page.locator("[name='resident.vulnerability']").count() == 0
    assert page.locator("[name='attributes.household']").count() == 4
    assert "Widowed" not in page.content() and "Lost a spouse, living alone" in page.content()


def submit(page: Any, intake: str, lang: str, phone: str) -> str:
    words = {
        "zh-CN": ("请描述问题", "楼栋", "您的称呼", "电话号码", "提交"),
        "en": ("Describe the problem", "Building", "Your name", "Phone number", "Submit"),
    }[lang]
    page.goto(f"{intake}/request/property_repair?lang={lang}")
    page.get_by_label(words[0]).fill("厨房水管漏水 / kitchen pipe leaking")
    page.get_by_label(words[1]).fill("3号楼")
    page.get_by_label(words[2]).fill("王阿姨")
    page.get_by_role("textbox", name=words[3]).fill(phone)
    page.get_by_role("button", name=words[4]).click()
    page.wait_for_url(CODE_PAGE)
    return str(page.locator("[data-tracking-code]").get_attribute("data-tracking-code"))


def test_the_receipt_groups_the_code_copies_it_and_says_how_we_answer(
    stack: Stack, new_page: Any, http: httpx.Client
) -> None:
    intake = stack.url("intake")
    page = new_page(viewport=(320, 700), permissions=["clipboard-read", "clipboard-write"])
    code = submit(page, intake, "zh-CN", "13800138000")
    groups = page.locator(".receipt .code-group")
    assert groups.all_inner_texts() == [code[:2], code[2:6], code[6:10], code[10:]]
    # 200% text on a narrow phone: lines break between groups, never inside one.
    page.evaluate("document.documentElement.style.fontSize = '200%'")  # (CSSOM: the CSP allows no <style>)
    for i in range(groups.count()):
        assert groups.nth(i).evaluate("e => e.getClientRects().length") == 1, i
    # The mobile and the SMS gateway: told by SMS, without choosing anything.
    assert page.locator("[data-hear-back]").first.get_attribute("data-hear-back") == "sms"
    assert "短信" in page.locator(".receipt [data-hear-back]").inner_text()
    assert http.get(f"{intake}/v1/track/{code}").json()["status"] in ("submitted", "dispatched")
    page.get_by_role("button", name="复制查询码").click()
    page.get_by_text("已复制").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == code
    no_jargon(page)
    screenshot(page, "portal-receipt-zh")

    # A landline: no text messages; the page says plainly how the resident hears back.
    english = new_page(locale="zh-CN")
    submit(english, intake, "en", "010-12345678")
    hear = english.locator(".receipt [data-hear-back]")
    assert hear.get_attribute("data-hear-back") == "inbox"
    assert "look up the progress here" in hear.inner_text() and "Staff will call you" in hear.inner_text()
    assert english.get_by_role("button", name="Copy the tracking code").is_visible()
    call = english.locator("[data-hotline] a")
    assert call.get_attribute("href") == "tel:12345" and call.inner_text() == "Call 12345"
    assert "8:30" in english.locator("[data-hotline]").inner_text()
    screenshot(english, "portal-receipt-en")


def test_without_javascript_the_code_is_still_there(stack: Stack, new_page: Any) -> None:
    intake = stack.url("intake")
    page = new_page(java_script_enabled=False)
    code = submit(page, intake, "zh-CN", "13800138000")
    assert page.locator(".receipt .code").inner_text().replace(" ", "") == code
    assert not page.locator("button[data-copy]").is_visible()  # no button that would do nothing


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=15) as client:
        yield client


def test_the_resident_reads_the_extension_reason_and_the_earlier_reply(
    stack: Stack, new_page: Any, http: httpx.Client
) -> None:
    intake, routing = stack.url("intake"), stack.url("routing")
    created = file_request(stack, "厨房水龙头坏了")
    member = api_token(http, stack, "property_maintenance.member")
    lead = api_token(http, stack, "property_maintenance.lead")

    def act(action: str, auth: dict[str, str], body: dict[str, Any] | None = None) -> None:
        r = http.post(f"{routing}/v1/tasks/{created['id']}/{action}", json=body, headers=auth)
        assert r.status_code == 200, f"{action}: {r.text}"

    act("claim", member)
    act("note", member, {"text": "师傅周二上门", "visibility": "public"})
    act("extend", member, {"reason": "配件需要从厂家订购", "working_days": 3})
    act("approve-extension", lead)
    page = new_page()
    code = created["tracking_code"]

    def shows(selector: str) -> bool:
        page.goto(f"{intake}/track/{code}?lang=zh-CN")
        return page.locator(selector).count() > 0

    wait_sync(lambda: shows('[data-event="task.extension_approved"]'), timeout=45, what="the extension")
    entry = page.locator('[data-event="task.extension_approved"]').inner_text()
    assert "配件需要从厂家订购" in entry and "师傅周二上门" not in entry
    no_jargon(page)

    act("resolve", member, {"reply": "已更换水龙头"})
    wait_sync(lambda: shows('[data-status="resolved"]'), timeout=45, what="the resolution")
    page.goto(f"{intake}/feedback/{code}?lang=en")
    page.get_by_role("radio", name="Dissatisfied (it will be handled again)").check()
    page.get_by_role("button", name="Send my rating").click()
    wait_sync(lambda: shows('[data-status="reopened"]'), timeout=45, what="the reopen")
    assert page.locator("[data-public-note]").count() == 0  # the old reply is no longer the answer
    assert page.locator("[data-earlier-reply]").inner_text() == "已更换水龙头"
    assert "之前的答复" in page.locator(".reply.earlier h2").inner_text()
    page.goto(f"{intake}/track/{code}?lang=en")
    assert "The earlier reply" in page.locator(".reply.earlier h2").inner_text()
    screenshot(page, "portal-reopened-en")


def test_staff_read_labels_not_codes(stack: Stack, new_page: Any, http: httpx.Client) -> None:
    created = file_request(stack, "厨房水管漏水")  # answered: place = kitchen
    routing = stack.url("routing")
    member = api_token(http, stack, "property_maintenance.member")
    r = http.post(f"{routing}/v1/tasks/{created['id']}/claim", headers=member)
    assert r.status_code == 200, r.text
    page = new_page(viewport=DESKTOP)
    sign_in(page, stack, "supervisor")
    page.goto(f"{routing}/console/tasks/{created['id']}?lang=zh-CN")
    answers = page.locator("dl.answers")
    assert answers.locator("dt").first.inner_text() == "问题在哪个位置？"
    assert answers.locator("dd").first.inner_text() == "厨房"
    facts = page.locator(".task-facts dl.details-grid").first
    assert "kitchen" not in page.locator(".task-facts").inner_text()
    assert facts.locator("[data-channel]").inner_text().startswith("网站/App")
    assignee = facts.locator("[data-assignee]")
    assert assignee.get_attribute("data-assignee") == "property_maintenance.member"
    assert assignee.inner_text() == "物业维修组组员 Property maintenance member"
    assert "物业维修组组员" in page.locator(".task-history").inner_text()
    # Each value sits on its label's row.
    for row in range(facts.locator("dt").count()):
        dt, dd = facts.locator("dt").nth(row), facts.locator("dd").nth(row)
        assert abs(dt.bounding_box()["y"] - dd.bounding_box()["y"]) < 4, dt.inner_text()
        assert dd.bounding_box()["x"] > dt.bounding_box()["x"]
    screenshot(page, "console-task-labels-zh")

    page.goto(f"{routing}/console/tasks/{created['id']}?lang=en")
    assert page.locator("dl.answers dd").first.inner_text() == "Kitchen"
    assert page.locator("dl.answers dt").first.inner_text() == "Where is the problem?"
    assert task(stack, created["id"])["answer_labels"]["place"]["values"]["kitchen"]["en"] == "Kitchen"


def test_the_ledger_reads_in_dates_spans_and_downloads_excel(stack: Stack, new_page: Any) -> None:
    created = file_request(stack, "楼道灯不亮")
    with httpx.Client(timeout=15) as http:
        member = api_token(http, stack, "property_maintenance.member")
        r = http.post(f"{stack.url('routing')}/v1/tasks/{created['id']}/claim", headers=member)
        assert r.status_code == 200, r.text
    page = new_page(viewport=DESKTOP, accept_downloads=True)
    sign_in(page, stack, "supervisor")
    weeks = (("zh-CN", r"\d+月\d+日–\d+月\d+日", "0.0 小时"), ("en", r"\d+ \w{3} – \d+ \w{3}", "0.0 h"))
    for lang, week, zero in weeks:
        page.goto(f"{stack.url('routing')}/console/ledger?lang={lang}")
        claim = page.locator('[data-kpi="median_hours_to_claim"] .kpi-value').inner_text()
        assert claim not in ("—", zero) and "0.0" not in claim, claim
        page.locator("#chart-week details summary").click()
        row = page.locator("#chart-week tbody tr[data-group] th").first.inner_text()
        assert re.fullmatch(week, row), row
        assert "W" not in row
    with page.expect_download() as info:
        page.locator('[data-download="xlsx-category"]').click()
    assert info.value.suggested_filename.endswith(".xlsx")
    screenshot(page, "console-ledger-en")
