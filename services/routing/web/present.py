"""How the console shows things: local times, spans, and labels in the page's language. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.routing.domain.labels import (
    ACTION_LABELS,
    CHANNEL_KIND_LABELS,
    CHANNEL_LABELS,
    NOT_ACCEPT_REASONS,
    PRIORITY_LABELS,
    RETURN_REASONS,
    ROLE_LABELS,
    status_label,
)
from services.routing.domain.teams import Directory
from shared.i18n import LocalizedText
from shared.web import Catalogue


def _instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


@dataclass(frozen=True)
class Present:
    lang: str
    zone: ZoneInfo
    now: datetime
    catalogue: Catalogue
    directory: Directory

    def t(self, key: str, **values: Any) -> str:
        return self.catalogue.t(key, self.lang, **values)

    def pick(self, labels: LocalizedText | None, fallback: str = "") -> str:
        """A {zh-CN, en} label in the page's language."""
        if not labels:
            return fallback
        return labels.get(self.lang) or labels.get("zh-CN") or fallback

    # -- time --------------------------------------------------------------------------------------------

    def time(self, value: Any) -> str:
        instant = _instant(value)
        return instant.astimezone(self.zone).strftime("%Y-%m-%d %H:%M") if instant else ""

    def iso(self, value: Any) -> str:
        instant = _instant(value)
        return instant.isoformat() if instant else ""

    def span(self, delta: timedelta) -> str:
        minutes = max(0, int(delta.total_seconds() // 60))
        days, rest = divmod(minutes, 24 * 60)
        hours, minutes = divmod(rest, 60)
        if days:
            return self.t("span.days_hours", days=days, hours=hours)
        if hours:
            return self.t("span.hours_minutes", hours=hours, minutes=minutes)
        return self.t("span.minutes", minutes=minutes)

    def relative(self, value: Any) -> str:
        """ "due in 3 h 20 min" or "overdue by 1 d 2 h"."""
        instant = _instant(value)
        if instant is None:
            return ""
        if instant >= self.now:
            return self.t("due.in", span=self.span(instant - self.now))
        return self.t("due.late", span=self.span(self.now - instant))

    # -- labels ------------------------------------------------------------------------------------------

    def status(self, status: str | None) -> str:
        return self.pick(status_label(status), status) if status else ""

    def priority(self, priority: str | None) -> str:
        return self.pick(PRIORITY_LABELS.get(priority or ""), priority or "")

    def action(self, action: str) -> str:
        return self.pick(ACTION_LABELS.get(action), action)

    def team(self, team_id: str | None) -> str:
        ref = self.directory.ref(team_id)
        if ref is None:
            return self.t("team.none") if team_id in (None, "none") else str(team_id)
        return self.pick(ref.name, ref.id)

    def grid(self, grid_id: str | None) -> str:
        found = next((g for g in self.directory.areas.grids if g.id == grid_id), None)
        return self.pick(found.name, found.id) if found else (grid_id or "")

    def return_reason(self, code: str | None) -> str:
        return self.pick(RETURN_REASONS.get(code or ""), code or "")

    def not_accept_reason(self, code: str | None) -> str:
        return self.pick(NOT_ACCEPT_REASONS.get(code or ""), code or "")

    def reason(self, action: str, code: str | None) -> str:
        return self.not_accept_reason(code) if action == "not-accept" else self.return_reason(code)

    def channel(self, channel: str | None, kind: str | None = None) -> str:
        """`居民网站`, or the kind with the channel's own name: `热线电话（hotline-east）`."""
        if channel in CHANNEL_LABELS:
            return self.pick(CHANNEL_LABELS[channel], channel)
        if kind in CHANNEL_KIND_LABELS:
            open_, close = ("（", "）") if self.lang == "zh-CN" else (" (", ")")
            return f"{self.pick(CHANNEL_KIND_LABELS[kind], kind)}{open_}{channel}{close}"
        return channel or ""

    def answers(self, attributes: dict[str, Any], labels: dict[str, Any]) -> list[tuple[str, str]]:
        """(question, answer) in words: 问题在哪个位置？ → 厨房. A request filed before labels travelled
        shows its codes."""
        out = []
        for code, answer in attributes.items():
            label = labels.get(code) or {}
            names = label.get("values") or {}
            chosen = answer if isinstance(answer, list) else [answer]
            words = [self.pick(names.get(str(v))) or self.time(v) or str(v) for v in chosen]
            out.append((self.pick(label.get("question"), code), self.t("list.separator").join(words)))
        return out

    def role(self, role: str) -> str:
        return self.pick(ROLE_LABELS.get(role), role)

    def percent(self, rate: float | None) -> str:
        return "—" if rate is None else f"{rate * 100:.0f}%"

    def hours(self, value: float | None) -> str:
        """A median in hours as a span: `12分钟`, `3小时20分`, `2天4小时` (never "0.0 小时" for quick work)."""
        if value is None:
            return "—"
        if value * 60 < 1:
            return self.t("span.under_a_minute")
        return self.span(timedelta(hours=value))
