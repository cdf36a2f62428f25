"""The resident portal in headless Chromium against the stack as `make run` starts it (three services as OS
processes): a resident files and tracks a request in Chinese, sees the staff reply and the messages from
notify and rates the outcome after a member resolved the task through routing's staff API, switches to
English on every page, cancels a request, is told whom to call in an emergency, and uses the keyboard.
Every page is checked for JavaScript errors by the `new_page` fixture; screenshots go to docs/screenshots/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from huiying.stack import Stack
from tests.browser.conftest import screenshot
from tests.e2e.conftest import dump_logs
from tests.support import wait_sync

PHONE_WIDTH = 390


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=15) as client:
        yield client


class Staff:
    """routing's staff API over HTTP, as a member's own tools (or the console) would use it."""

    def __init__(self, http: httpx.Client, routing: str) -> None:
        self.http, self.routing = http, routing

    def login(self, username: str) -> dict[str, str]:
        r = self.http.post(f"{self.routing}/v1/auth/login", json={"username": username, "password": "dev-password"})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def act(self, task_id: str, action: str, auth: dict[str, str], body: dict[str, Any] | None = None) -> None:
        r = self.http.post(f"{self.routing}/v1/tasks/{task_id}/{action}", json=body, headers=auth)
        assert r.status_code == 200, f"{action}: {r.status_code} {r.text}"


def no_sideways_scrolling(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"the page is {width}px wide on a {PHONE_WIDTH}px phone"


def reload_until(page: Any, selector: str, *, timeout: float = 45, what: str = "") -> Any:
    """Reload the page until `selector` is on it (the request moves on in other processes)."""

    def probe() -> bool:
        page.reload()
        page.wait_for_selector("[data-inbox][data-loaded]")  # the page's own script has run
        return page.locator(selector).count() > 0

    wait_sync(probe, timeout=timeout, interval=1.0, what=what or selector)
    return page.locator(selector)


def fill_repair_request(page: Any, *, description: str = "厨房水管漏水，楼下也在渗水") -> None:
    """A resident's answers on the property-repair form, chosen by their visible labels (the optional
    questions are folded: opened first)."""
    page.locator("#more-questions > summary").click()
    page.get_by_role("radio", name="厨房").check()
    page.get_by_role("radio", name="正在漏水或渗水").check()
    page.get_by_label("请描述问题").fill(description)
    page.get_by_label("地址或地点").fill("幸福路8号")
    page.get_by_label("楼栋").fill("3号楼")
    page.get_by_label("单元和门牌号").fill("2单元501")
    page.get_by_label("您的称呼").fill("王阿姨")
    page.get_by_role("textbox", name="电话号码").fill("13800138000")


def submit_repair(page: Any, intake: str) -> str:
    page.goto(f"{intake}/request/property_repair?lang=zh-CN")
    fill_repair_request(page)
    page.get_by_role("button", name="提交").click()
    page.wait_for_url(re.compile(r"/track/HY[0-9A-Z]{10}\?new=1$"))
    return str(page.locator("[data-tracking-code]").get_attribute("data-tracking-code"))


def track_json(http: httpx.Client, intake: str, code: str) -> dict[str, Any]:
    r = http.get(f"{intake}/v1/track/{code}")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_a_resident_submits_and_tracks_in_chinese(stack: Stack, new_page: Any, http: httpx.Client) -> None:
    intake = stack.url("intake")
    page = new_page()  # zh-CN, 390 x 844: a phone
    page.goto(f"{intake}/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.get_by_role("heading", name="您好，请问需要什么帮助？").is_visible()
    no_sideways_scrolling(page)
    screenshot(page, "portal-home-zh")

    page.get_by_role("link", name=re.compile("物业报修")).click()
    page.wait_for_url(f"{intake}/request/property_repair")
    assert page.get_by_role("heading", name="反映问题：物业报修").is_visible()
    no_sideways_scrolling(page)
    screenshot(page, "portal-request-zh")

    # Sent empty: every problem next to its field, in Chinese, the summary focused; nothing stored.
    page.get_by_role("button", name="提交").click()
    summary = page.locator(".error-summary")
    summary.wait_for()
    page.wait_for_load_state()
    assert "有 2 处需要修改" in summary.inner_text()
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    assert page.locator("#f-description-error").inner_text() == "请描述一下问题。"
    assert page.locator("#f-resident-name-error").count() == 0  # a repair may stay anonymous (catalogue)
    assert "请至少填写地址或楼栋" in page.locator("#f-location-address-error").inner_text()
    assert page.get_by_label("请描述问题").get_attribute("aria-invalid") == "true"
    screenshot(page, "portal-errors-zh")

    fill_repair_request(page)
    page.get_by_role("button", name="提交").click()
    page.wait_for_url(re.compile(r"/track/HY[0-9A-Z]{10}\?new=1$"))
    code = str(page.locator("[data-tracking-code]").get_attribute("data-tracking-code"))
    assert page.get_by_role("heading", name="提交成功，我们已收到您反映的问题").is_visible()
    view = track_json(http, intake, code)
    assert view["service_code"] == "property_repair"
    assert "王阿姨" not in page.content() and "13800138000" not in page.content()  # never on the public page

    # routing dispatches it and notify writes the receipt: both appear on the track page.
    wait_sync(lambda: track_json(http, intake, code)["team"], timeout=45, what=f"the dispatch\n{dump_logs(stack)}")
    reload_until(page, '[data-message="request.submitted"]', what="the receipt from notify")
    team = track_json(http, intake, code)["team"]["name"]
    assert page.locator("[data-team]").inner_text() == team
    assert page.locator('[data-event="task.dispatched"]').count() == 1
    assert "已收到" in page.locator('[data-message="request.submitted"]').inner_text()
    no_sideways_scrolling(page)
    screenshot(page, "portal-track-zh")

    # The look-up box on the home page finds it again, whatever the case.
    page.goto(f"{intake}/")
    page.get_by_label("查询码").fill(code.lower())
    page.get_by_role("button", name="查询").click()
    page.wait_for_url(f"{intake}/track/{code}")
    assert page.locator("[data-tracking-code]").count() == 0 and code in page.content()


def test_the_resident_sees_the_staff_reply_and_rates_it(stack: Stack, new_page: Any, http: httpx.Client) -> None:
    intake, staff = stack.url("intake"), Staff(http, stack.url("routing"))
    page = new_page()
    code = submit_repair(page, intake)
    view = wait_sync(
        lambda: (v := track_json(http, intake, code))["team"] and v, timeout=45, what=f"dispatch\n{dump_logs(stack)}"
    )
    member = staff.login(f"{view['team']['id']}.member")
    staff.act(view["id"], "claim", member)
    staff.act(view["id"], "start", member, {"public_note": "维修师傅今天下午上门"})
    staff.act(view["id"], "resolve", member, {"reply": "已更换厨房水管，请您检查。"})

    reload_until(page, '[data-status="resolved"]', what="the resolution on the track page")
    assert page.locator("[data-public-note]").inner_text() == "已更换厨房水管，请您检查。"
    assert page.locator('[data-event="task.resolved"]').count() == 1
    assert "维修师傅今天下午上门" in page.locator('[data-event="task.started"]').inner_text()
    # notify's resolution message carries the feedback link, clickable because it leads back here.
    link = reload_until(
        page, f'[data-message="task.resolved"] a[href="{intake}/feedback/{code}"]', what="the resolution message"
    )
    assert "已更换厨房水管" in page.locator('[data-message="task.resolved"]').inner_text()
    screenshot(page, "portal-track-resolved-zh")

    link.click()
    page.wait_for_url(f"{intake}/feedback/{code}")
    assert page.get_by_role("heading", name="评价处理结果").is_visible()
    assert page.locator("[data-public-note]").inner_text() == "已更换厨房水管，请您检查。"
    page.get_by_role("button", name="提交评价").click()  # no rating chosen: named at the field
    assert page.locator("#f-rating-error").inner_text() == "请选择您的评价。"
    page.get_by_role("radio", name="满意", exact=True).check()
    page.get_by_label("还想说点什么？").fill("师傅很及时，谢谢！")
    screenshot(page, "portal-feedback-zh")
    page.get_by_role("button", name="提交评价").click()
    page.wait_for_url(f"{intake}/feedback/{code}?thanks=1")
    assert "感谢您的评价" in page.locator("[data-thanks]").inner_text()
    screenshot(page, "portal-feedback-thanks-zh")

    # routing closes a satisfied request; the track page says so.
    page.goto(f"{intake}/track/{code}")
    reload_until(page, '[data-status="closed"]', what="closed after a satisfied rating")
    assert page.locator('[data-event="request.feedback_received"]').count() == 1
    assert page.locator("[data-feedback-link]").count() == 0


def test_the_english_switch_works_on_every_page(stack: Stack, new_page: Any) -> None:
    intake = stack.url("intake")
    page = new_page()
    code = submit_repair(page, intake)
    pages = {
        "/": "Hello, how can we help?",
        "/request/property_repair": "Report a problem: Property repair",
        f"/track/{code}": "Request progress",
        f"/cancel/{code}": "Cancel the request",
        f"/feedback/{code}": "Rate how we handled it",
    }
    for path, heading in pages.items():
        page.goto(f"{intake}{path}?lang=zh-CN")
        assert page.locator("html").get_attribute("lang") == "zh-CN", path
        page.get_by_role("link", name="English").click()
        page.wait_for_url(f"{intake}{path}?lang=en")
        assert page.locator("html").get_attribute("lang") == "en", path
        assert page.get_by_role("heading", name=heading).is_visible(), path
        assert page.get_by_role("link", name="中文").is_visible(), path
        if path == f"/track/{code}":
            screenshot(page, "portal-track-en")
        if path == "/":
            screenshot(page, "portal-home-en")
    # Remembered: pages opened without ?lang= stay English, and the English form files an English request.
    page.goto(f"{intake}/request/legal_aid")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("input[name='resident.language'][value='en']").is_checked()  # English messages (folded)
    page.get_by_label("Describe the problem").fill("My employer has not paid my wages for two months.")
    page.get_by_label("Building").fill("Building 5")
    page.get_by_label("Your name").fill("Mr Li")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(re.compile(r"/track/HY[0-9A-Z]{10}\?new=1$"))
    assert page.get_by_role("heading", name="Done: we have received your request").is_visible()
    # ... and back to Chinese, remembered as well.
    page.get_by_role("link", name="中文").click()
    page.goto(f"{intake}/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"


def test_a_resident_cancels_a_request(stack: Stack, new_page: Any, http: httpx.Client) -> None:
    intake = stack.url("intake")
    page = new_page()
    code = submit_repair(page, intake)
    page.get_by_role("link", name="取消这个问题").click()
    page.wait_for_url(f"{intake}/cancel/{code}")
    assert f"确定要取消 {code} 吗" in page.content()
    page.get_by_label("为什么取消？").fill("已自行修好")
    screenshot(page, "portal-cancel-zh")
    page.get_by_role("button", name="确定取消").click()
    page.wait_for_url(f"{intake}/track/{code}?cancelled=1")
    assert page.get_by_text("已为您取消。").is_visible()
    assert page.locator("[data-status]").inner_text() == "已取消"
    assert page.locator("[data-cancel-link]").count() == 0
    assert track_json(http, intake, code)["status"] == "cancelled"
    reload_until(page, '[data-message="request.cancelled"]', what="notify's cancellation message")
    screenshot(page, "portal-cancelled-zh")

    # Once final, the cancel page says so instead of offering the button.
    page.goto(f"{intake}/cancel/{code}")
    assert "不能再取消了" in page.content()
    assert page.get_by_role("button", name="确定取消").count() == 0


def test_an_emergency_is_referred_at_once(stack: Stack, new_page: Any) -> None:
    intake = stack.url("intake")
    page = new_page()
    page.goto(f"{intake}/?lang=zh-CN")
    assert page.get_by_role("link", name="119 火警、燃气泄漏").get_attribute("href") == "tel:119"
    page.get_by_role("link", name=re.compile("紧急情况")).click()
    page.get_by_role("radio", name="燃气泄漏").check()
    page.get_by_label("请描述问题").fill("楼道里有很重的煤气味")
    page.get_by_label("楼栋").fill("7号楼")
    page.get_by_label("您的称呼").fill("赵先生")
    page.get_by_role("button", name="提交").click()
    page.wait_for_url(re.compile(r"/track/HY[0-9A-Z]{10}\?new=1$"))
    referral = page.locator(".referral")
    assert "119" in referral.inner_text() and "燃气泄漏" in referral.inner_text()
    assert referral.get_by_role("link", name="拨打 119").get_attribute("href") == "tel:119"
    assert page.locator("[data-status]").inner_text() == "这里办不了，请按提示联系"
    assert page.locator("[data-cancel-link]").count() == 0
    no_sideways_scrolling(page)
    screenshot(page, "portal-emergency-zh")


def test_keyboard_only(stack: Stack, new_page: Any) -> None:
    """Tab reaches the skip link first, every focus is visible, and a service opens with Enter."""
    intake = stack.url("intake")
    page = new_page(viewport=(1280, 900))
    page.goto(f"{intake}/?lang=zh-CN")
    page.wait_for_load_state()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert page.locator(".skip-link").is_visible()
    for _ in range(30):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "(() => { const e = document.activeElement; const s = getComputedStyle(e);"
            " return {service: e.dataset.service || null, outline: s.outlineStyle, width: s.outlineWidth}; })()"
        )
        assert focused["outline"] != "none" and focused["width"] != "0px", focused
        if focused["service"]:
            break
    else:
        raise AssertionError("Tab never reached a service")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/request/"))
    screenshot(page, "portal-keyboard-focus")
