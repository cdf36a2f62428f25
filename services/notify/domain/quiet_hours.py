"""Quiet hours: a daily window of local time in which non-urgent SMS wait for the morning. No I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.notify.domain.deliveries import SMS

_FORM = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class QuietHours:
    start: time  # local time the quiet window opens (e.g. 22:00)
    end: time  # local time it closes (e.g. 07:00); may be on the next day

    @classmethod
    def parse(cls, text: str) -> QuietHours | None:
        """`"22:00-07:00"` -> a window; `""` -> None (no quiet hours)."""
        if not text.strip():
            return None
        match = _FORM.match(text)
        if not match:
            raise ValueError(f"quiet hours must look like 22:00-07:00 (or be empty to switch them off), not {text!r}")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            raise ValueError(f"quiet hours {text!r}: hours are 0-23 and minutes 0-59")
        if (h1, m1) == (h2, m2):
            raise ValueError(f"quiet hours {text!r}: start and end must differ")
        return cls(time(h1, m1), time(h2, m2))

    def contains(self, local: time) -> bool:
        if self.start < self.end:  # a window within one day, e.g. 12:00-14:00
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # across midnight, e.g. 22:00-07:00

    def defer_until(self, now: datetime, tz: str) -> datetime | None:
        """When a non-urgent message due `now` may go: None if now is outside the window, else the end of
        the window (an aware datetime in the same zone as `now`)."""
        zone = ZoneInfo(tz)
        local = now.astimezone(zone)
        if not self.contains(local.time().replace(tzinfo=None)):
            return None
        end = datetime.combine(local.date(), self.end, tzinfo=zone)
        if end <= local:
            end = datetime.combine(local.date() + timedelta(days=1), self.end, tzinfo=zone)
        return end.astimezone(now.tzinfo)


def held_until(channel: str, urgent: bool, quiet: QuietHours | None, now: datetime, tz: str) -> datetime | None:
    """When a message due `now` may leave: only non-urgent SMS wait, until the quiet hours end. Checked when
    a delivery is planned and again when it is sent, so a retry that falls in the night waits too."""
    if channel != SMS or urgent or quiet is None:
        return None
    return quiet.defer_until(now, tz)
