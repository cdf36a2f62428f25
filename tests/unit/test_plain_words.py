"""Residents read plain words: no office jargon (shared/statuses.RESIDENT_JARGON) in anything a resident
sees — status labels, the portal's texts and templates, the messages notify sends them, the catalogue's
services, questions and referral notices — and one name for the tracking code (查询码 / tracking code)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.statuses import LABELS, RESIDENT_JARGON

ROOT = Path(__file__).resolve().parents[2]
# notify writes these to staff
STAFF_EVENTS = ("task.reminder", "task.escalated", "care.visit_due", "care.visit_reminder", "care.visit_escalated")
STAFF_EVENTS += ("ledger.weekly_report",)  # the weekly report, to supervisors (issue 15)


# What a reader never sees: Jinja's tags and variables, HTML's tags and attributes.
_HIDDEN = re.compile(r"\{%.*?%\}|\{\{.*?\}\}|\{#.*?#\}|<[^>]*>", re.S)


def shown(text: str) -> str:
    return _HIDDEN.sub(" ", text)


def texts(node: Any, where: str, language: str | None = None) -> Iterator[tuple[str, str, str]]:
    """(place, language, text) for every string under `node`; a key named after a language sets it."""
    if isinstance(node, dict):
        for key, value in node.items():
            lang = key if key in RESIDENT_JARGON else language
            yield from texts(value, f"{where}.{key}", lang)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from texts(value, f"{where}[{i}]", language)
    elif isinstance(node, str) and language is not None:
        yield where, language, shown(node)


def load(path: str) -> Any:
    return yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))


def resident_texts() -> Iterator[tuple[str, str, str]]:
    for status, audiences in LABELS.items():
        yield from texts(audiences["resident"], f"statuses.{status}")
    yield from texts(load("deploy/intake/portal-messages.yaml"), "portal")
    templates = load("deploy/notify/templates.yaml")
    for event, entry in templates.items():
        if event not in STAFF_EVENTS:
            yield from texts(entry, f"notify.{event}")
    catalogue = load("deploy/catalogue.yaml")
    for service in catalogue["services"]:
        visible = {k: v for k, v in service.items() if k != "keywords"}  # keywords match, they are not shown
        yield from texts(visible, f"catalogue.{service['code']}")
    yield from texts(catalogue["referrals"], "catalogue.referrals")
    for rule in catalogue["not_accepted"]:
        yield from texts(rule.get("reason"), f"catalogue.not_accepted.{rule['code']}.reason")
    for template in sorted((ROOT / "services/intake/web/templates").glob("*.html")):
        yield f"template {template.name}", "zh-CN", shown(template.read_text(encoding="utf-8"))


def test_the_scan_covers_every_source() -> None:
    places = {place.split(".")[0].split(" ")[0] for place, _, _ in resident_texts()}
    assert places == {"statuses", "portal", "notify", "catalogue", "template"}
    assert sum(1 for _ in resident_texts()) > 400


@pytest.mark.parametrize("language", sorted(RESIDENT_JARGON))
def test_no_office_jargon_reaches_a_resident(language: str) -> None:
    found = [
        f"{place}: {word!r} in {text[:80]!r}"
        for place, lang, text in resident_texts()
        if lang == language
        for word in RESIDENT_JARGON[language]
        if word.lower() in text.lower()
    ]
    assert found == [], "office words on the resident side:\n" + "\n".join(found)


def test_the_jargon_list_catches_the_old_words() -> None:
    """The list is not empty talk: the texts this issue replaced would fail the scan."""
    old = ["已派单，等待签收", "已办结归档", "不予受理", "受理编号 HY0000000000", "遗孀户", "疑似“三非”人员"]
    assert all(any(word in text for word in RESIDENT_JARGON["zh-CN"]) for text in old)


def test_one_name_for_the_tracking_code() -> None:
    for place, lang, text in resident_texts():
        if lang == "zh-CN":
            assert "编号" not in text.replace("查询码", ""), place  # never 受理编号 / 编号 for the code


def test_the_hotline_is_never_named_without_its_number() -> None:
    """ "Call the hotline" with no number helps nobody: only the hotline.* texts (which the number from
    HUIYING_HOTLINE_NUMBER goes with) mention it."""
    for place, _, text in resident_texts():
        if "热线" in text or "hotline" in text.lower():
            assert place.startswith(("portal.hotline.", "catalogue.referrals")), place
