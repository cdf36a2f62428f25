"""Every status a request or task can have, with what staff and residents read for it: one table.

Staff see the 12345 desk's own words; residents see plain words for the same step. intake's portal and
Open311 views, routing's API and console all label statuses from here.
"""

from __future__ import annotations

from typing import Literal

from shared.i18n import LocalizedText, pick

Audience = Literal["staff", "resident"]

# status -> (staff label, resident label), each in zh-CN and en.
LABELS: dict[str, dict[Audience, LocalizedText]] = {
    "submitted": {
        "staff": {"zh-CN": "已受理", "en": "Submitted"},
        "resident": {"zh-CN": "已受理，等待派单", "en": "Received, being assigned"},
    },
    "dispatched": {
        "staff": {"zh-CN": "已派单", "en": "Dispatched"},
        "resident": {"zh-CN": "已派单，等待签收", "en": "Assigned to a team"},
    },
    "claimed": {
        "staff": {"zh-CN": "已签收", "en": "Claimed"},
        "resident": {"zh-CN": "工作人员已签收", "en": "Signed for by a staff member"},
    },
    "in_progress": {
        "staff": {"zh-CN": "办理中", "en": "In progress"},
        "resident": {"zh-CN": "正在办理", "en": "Being handled"},
    },
    "on_hold": {
        "staff": {"zh-CN": "已挂起", "en": "On hold"},
        "resident": {"zh-CN": "暂停办理", "en": "On hold"},
    },
    "returned": {
        "staff": {"zh-CN": "已退单", "en": "Returned"},
        "resident": {"zh-CN": "正在重新派单", "en": "Being re-assigned"},
    },
    "reopened": {
        "staff": {"zh-CN": "重办", "en": "Reopened"},
        "resident": {"zh-CN": "重新办理中", "en": "Reopened"},
    },
    "resolved": {
        "staff": {"zh-CN": "已办结", "en": "Resolved"},
        "resident": {"zh-CN": "已办结，等待您的评价", "en": "Resolved, waiting for your rating"},
    },
    "closed": {
        "staff": {"zh-CN": "已归档", "en": "Closed"},
        "resident": {"zh-CN": "已办结归档", "en": "Closed"},
    },
    "not_accepted": {
        "staff": {"zh-CN": "不予受理", "en": "Not accepted"},
        "resident": {"zh-CN": "不予受理", "en": "Not accepted here"},
    },
    "duplicate": {
        "staff": {"zh-CN": "重复件", "en": "Duplicate"},
        "resident": {"zh-CN": "已与之前的诉求合并", "en": "Merged with an earlier request"},
    },
    "cancelled": {
        "staff": {"zh-CN": "已撤销", "en": "Cancelled"},
        "resident": {"zh-CN": "已撤销", "en": "Cancelled"},
    },
}

STATUSES: tuple[str, ...] = tuple(LABELS)


def labels(status: str, audience: Audience = "staff") -> LocalizedText:
    """Both languages of a status's label; an unknown status is its own label."""
    entry = LABELS.get(status)
    return entry[audience] if entry else {"zh-CN": status, "en": status}


def label(status: str | None, language: str | None, audience: Audience = "staff") -> str:
    return pick(labels(status or "", audience), language) if status else ""
