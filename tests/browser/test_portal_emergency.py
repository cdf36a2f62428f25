"""Emergencies and a mistyped tracking code in headless Chromium, in both languages (issue 13): the home
page's emergency link and line lead to the call-now page; everyday words on a form answer the call-now
page — the red call box first and focused, the number as a `tel:` link, the reason in plain words, no
"success" — and "not an emergency — continue" files the request; a bad tracking code answers its own page
with the error first and focused, with and without JavaScript."""

from __future__ import annotations

import re
from typing import Any

import pytest

from huiying.stack import Stack
from tests.browser.conftest import screenshot

PHONE = (390, 844)


def fill_by_name(page: Any, description: str) -> None:
    """The required fields, found by their names (their labels are the words' business, not this test's)."""
    page.locator('textarea[name="description"]').fill(description)
    page.locator('input[name="location.building"]').fill("7号楼")
    page.locator('input[name="resident.name"]').fill("赵先生")


def focused(page: Any) -> str:
    return str(page.evaluate("document.activeElement && document.activeElement.className"))


def first_in_main(page: Any) -> str:
    return str(page.evaluate("document.querySelector('main').firstElementChild.className"))


def top_of(page: Any, selector: str) -> float:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return float(box["y"])


CASES = [
    (
        "zh-CN",
        "老伴在卫生间摔倒了起不来",
        "120",
        "您说的可能是有人摔倒起不来",
        "不是紧急情况，继续提交",
        "紧急情况请直接拨打",
    ),
    (
        "en",
        "my mum fell in the bathroom and cant get up",
        "120",
        "what you describe may be someone who fell and cannot get up",
        "Not an emergency — continue",
        "In an emergency, call",
    ),
]


@pytest.mark.parametrize(("lang", "words", "number", "reason", "button", "line"), CASES, ids=["zh", "en"])
def test_everyday_words_answer_the_call_now_page_and_continue_files_it(
    stack: Stack, new_page: Any, lang: str, words: str, number: str, reason: str, button: str, line: str
) -> None:
    intake = stack.url("intake")
    page = new_page(locale=lang, viewport=PHONE)
    page.goto(f"{intake}/?lang={lang}")
    assert line in page.locator("[data-emergency-line]").inner_text()
    page.locator("[data-emergency-link]").click()
    page.wait_for_url(re.compile(r"/emergency$"))
    assert page.locator(".callbox a[href='tel:119']").count() == 1

    page.goto(f"{intake}/request/property_repair")
    assert line in page.locator("[data-emergency-line]").inner_text()  # on the form too
    fill_by_name(page, words)
    page.locator("form[data-once] button[type=submit]").click()
    page.wait_for_selector(".callbox")
    box = page.locator(".callbox")
    assert first_in_main(page) == "callbox" and top_of(page, ".callbox") < 250  # first, under the header
    assert "callbox" in focused(page)
    assert box.locator(f"a[href='tel:{number}']").first.is_visible()
    assert reason in box.inner_text()
    content = page.content()
    assert "成功" not in content and "success" not in content.lower()
    screenshot(page, f"portal-call-now-{lang[:2]}")

    page.get_by_role("button", name=button).click()
    page.wait_for_url(re.compile(r"/track/HY[0-9A-Z]{10}\?new=1$"))
    assert page.locator("[data-tracking-code]").count() == 1


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize(
    ("lang", "title"), [("zh-CN", "查询码格式不对"), ("en", "That tracking code is not right")], ids=["zh", "en"]
)
def test_a_bad_tracking_code_answers_its_own_page_with_the_error_focused(
    stack: Stack, browser: Any, lang: str, title: str, javascript: bool
) -> None:
    intake = stack.url("intake")
    context = browser.new_context(
        locale=lang, viewport={"width": PHONE[0], "height": PHONE[1]}, java_script_enabled=javascript
    )
    try:
        page = context.new_page()
        page.goto(f"{intake}/?lang={lang}")
        page.locator("#f-code").fill("HY12345")
        page.locator("#f-code").press("Enter")
        page.wait_for_url(re.compile(r"/track\?code=HY12345$"))
        alert = page.get_by_role("alert")
        assert title in alert.inner_text()
        assert first_in_main(page) == "error-summary" and top_of(page, "[role=alert]") < 250  # not 2,800 px down
        assert "error-summary" in focused(page)  # autofocus without JavaScript, the script's focus with it
        assert page.locator(".services").count() == 0  # not the home page again
        assert page.locator("#f-code").input_value() == "HY12345"
        if javascript:
            screenshot(page, f"portal-bad-code-{lang[:2]}")
    finally:
        context.close()
