"""What notify tells residents about their service-day sign-ups (signup.made, signup.cancelled,
signup.reminder): the template variables. No I/O.

A sign-up is a recipient like a request: `signup.made` introduces the resident (the sign-up code stands in
for the tracking code, so the resident reads these messages in the inbox with it); the document is keyed by
`signup:<code>`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from shared.events.servicedays import SignupCancelled, SignupEvent
from shared.i18n import pick

Document = dict[str, Any]

_WEEKDAYS = {"zh-CN": "一二三四五六日", "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}


def day_words(day: date, language: str) -> str:
    """12月8日（周二） / Tue 8 Dec."""
    if language == "en":
        return f"{_WEEKDAYS['en'][day.weekday()]} {day.day} {day.strftime('%b')}"
    return f"{day.month}月{day.day}日（周{_WEEKDAYS['zh-CN'][day.weekday()]}）"


def signup_context(data: SignupEvent, language: str, intake_url: str) -> Document:
    """The variables of the sign-up templates (deploy/notify/templates.yaml)."""
    names = {s.code: s.name for s in data.day.services}
    sep = "、" if language == "zh-CN" else ", "
    ctx: Document = {
        "signup_code": data.tracking_code,
        "day_title": pick(data.day.title, language),
        "day_date": day_words(data.day.date, language),
        "day_time": f"{data.day.starts}–{data.day.ends}",
        "place": pick(data.day.place, language),
        "services": sep.join(pick(names.get(c), language) or c for c in data.services),
        # The resident's sign-up page (see it, cancel it) stands where a request's tracking page does.
        "track_url": f"{intake_url}/servicedays/signup/{data.tracking_code}",
        "day_cancelled": isinstance(data, SignupCancelled) and data.reason == "day_cancelled",
    }
    return ctx
