"""What notify tells supervisors of routing's weekly report (`ledger.weekly_report`): the template variables.
No I/O.

The report is e-mailed (routing addresses it to the supervisors with an e-mail address and no phone, so
`planning.plan_for_staff` plans one e-mail each); the text part lists the figures, the HTML part tables them.
It carries counts and rates only, no resident's data.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from shared.events.ledger import LedgerWeeklyReport
from shared.i18n import pick

Document = dict[str, Any]
NONE = "—"  # a rate with nothing to count (no resolved, no rated task)


def percent(rate: float | None) -> str:
    return NONE if rate is None else f"{rate * 100:.1f}%"


def hours(value: float | None, language: str) -> str:
    if value is None:
        return NONE
    return f"{value:.1f} h" if language == "en" else f"{value:.1f}小时"


def _day(day: date, language: str) -> str:
    return f"{day.day} {day.strftime('%b')} {day.year}" if language == "en" else f"{day.year}年{day.month}月{day.day}日"


def report_context(data: LedgerWeeklyReport, language: str, routing_url: str) -> Document:
    """The variables of the `ledger.weekly_report` template (deploy/notify/templates.yaml)."""
    t = data.totals
    return {
        "week": data.week,
        "week_from": _day(data.first_day, language),
        "week_to": _day(data.last_day, language),
        "totals": {
            "count": t.count,
            "resolved": t.resolved,
            "closed": t.closed,
            "overdue": t.overdue,
            "rated": t.rated,
            "on_time": percent(t.on_time_closure_rate),
            "reply": percent(t.reply_rate),
            "satisfaction": percent(t.satisfaction_rate),
            "to_claim": hours(t.median_hours_to_claim, language),
            "to_resolve": hours(t.median_hours_to_resolve, language),
        },
        "teams": [
            {
                "name": pick(a.team.name, language) or a.team.id,
                "received": a.received,
                "resolved": a.resolved,
                "returned": a.returned,
                "overdue": a.overdue,
                "on_time": percent(a.on_time_rate),
                "reply": percent(a.reply_rate),
                "satisfaction": percent(a.satisfaction_rate),
                "return_rate": percent(a.return_rate),
                "score": NONE if a.score is None else f"{a.score:.1f}",
            }
            for a in data.teams
            if a.received  # teams with nothing that week are left out of the e-mail
        ],
        "ledger_url": f"{routing_url}{data.console_path}",
        "track_url": "",
        "tracking_code": "",
    }
