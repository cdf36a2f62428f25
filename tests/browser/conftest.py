"""Browser tests: the stack as `make run` starts it, driven in headless Chromium (Debian's `chromium`,
Playwright's sync API). Every page must load without a JavaScript error; screenshots go to
docs/screenshots/ (shown in the README)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from huiying.stack import Stack
from tests.e2e.conftest import running_stack

CHROMIUM = os.environ.get("HUIYING_TEST_CHROMIUM", "/usr/bin/chromium")
# `make test` keeps its screenshots out of the tree (var/ is ignored); `make screenshots` refreshes the
# README's pictures in docs/screenshots/.
SCREENSHOTS = Path(
    os.environ.get("HUIYING_SCREENSHOT_DIR", Path(__file__).resolve().parents[2] / "var" / "screenshots")
)
# Flags for a root user on a machine without outside network (see the machine notes).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


# Per module, not per session: Playwright's sync API runs an event loop on the test thread while it is
# open, and every async test collected after the browser tests (pytest-asyncio) would find it running.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        # A fresh machine without root: the rest of the tests run; `make prereqs` said the same in one line.
        install = "`sudo apt-get install chromium fonts-wqy-microhei` (or `make prereqs` as root)"
        pytest.skip(f"no chromium at {CHROMIUM}: {install}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, amqp_url: str) -> Iterator[Stack]:
    """One stack per browser test module (memory engine, own names, free ports)."""
    yield from kept_stack(tmp_path_factory)


def kept_stack(tmp_path_factory: pytest.TempPathFactory, **extra: str) -> Iterator[Stack]:
    """A stack (with `extra` HUIYING_* settings) started and stopped on a thread of its own that lives as
    long as the stack: while the browser is open, Playwright's sync API runs an event loop on the test
    thread, where the launcher's broker check and the topology clean-up (`asyncio.run`) cannot run; and the
    stack's processes die with the thread that started them (PR_SET_PDEATHSIG)."""
    manager = running_stack(Path(tmp_path_factory.mktemp("browser-stack")), **extra)
    keeper = ThreadPoolExecutor(1, thread_name_prefix="browser-stack")
    try:
        yield keeper.submit(manager.__enter__).result()
    finally:
        keeper.submit(manager.__exit__, None, None, None).result()
        keeper.shutdown()


class PageErrors:
    """Collects JavaScript errors (uncaught exceptions and console errors) of one page."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def attach(self, page: Any) -> None:
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(f"console: {msg.text}"))


@pytest.fixture
def new_page(browser: Any) -> Iterator[Any]:
    """`page = new_page(locale="zh-CN", viewport=(390, 844))` — a fresh context per call. After the test,
    no page may have logged a JavaScript error."""
    contexts: list[Any] = []
    errors = PageErrors()

    def make(locale: str = "zh-CN", viewport: tuple[int, int] = (390, 844), **options: Any) -> Any:
        size = {"width": viewport[0], "height": viewport[1]}
        context = browser.new_context(locale=locale, viewport=size, **options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors.attach(page)
        return page

    yield make
    for context in contexts:
        context.close()
    assert errors.errors == [], "JavaScript errors:\n" + "\n".join(errors.errors)


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
