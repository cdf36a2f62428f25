"""Every status a request or task can have, with what staff and residents read for it: one table.

Staff see the 12345 desk's own words; residents see plain words for the same step, never the desk's
jargon (RESIDENT_JARGON; tests/unit/test_plain_words.py scans every resident-facing text for it). intake's portal and
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
        "resident": {"zh-CN": "已收到，正在安排", "en": "Received, finding the right team"},
    },
    "dispatched": {
        "staff": {"zh-CN": "已派单", "en": "Dispatched"},
        "resident": {"zh-CN": "已交给工作组", "en": "Passed to a team"},
    },
    "claimed": {
        "staff": {"zh-CN": "已签收", "en": "Claimed"},
        "resident": {"zh-CN": "工作人员已接手", "en": "A staff member has taken it on"},
    },
    "in_progress": {
        "staff": {"zh-CN": "办理中", "en": "In progress"},
        "resident": {"zh-CN": "正在处理", "en": "Being handled"},
    },
    "on_hold": {
        "staff": {"zh-CN": "已挂起", "en": "On hold"},
        "resident": {"zh-CN": "暂时停下，稍后继续", "en": "Paused for now"},
    },
    "returned": {
        "staff": {"zh-CN": "已退单", "en": "Returned"},
        "resident": {"zh-CN": "正在换一个工作组处理", "en": "Being passed to another team"},
    },
    "reopened": {
        "staff": {"zh-CN": "重办", "en": "Reopened"},
        "resident": {"zh-CN": "重新处理中", "en": "Being handled again"},
    },
    # 审核: routing's own step; residents are never told of it (routing publishes it as in_progress).
    "awaiting_review": {
        "staff": {"zh-CN": "待审核", "en": "Awaiting review"},
        "resident": {"zh-CN": "正在处理", "en": "Being handled"},
    },
    "resolved": {
        "staff": {"zh-CN": "已办结", "en": "Resolved"},
        "resident": {"zh-CN": "已处理完，请您评价", "en": "Done: please tell us how we did"},
    },
    "closed": {
        "staff": {"zh-CN": "已归档", "en": "Closed"},
        "resident": {"zh-CN": "已全部完成", "en": "Completed"},
    },
    "not_accepted": {
        "staff": {"zh-CN": "不予受理", "en": "Not accepted"},
        "resident": {"zh-CN": "这里办不了，请按提示联系", "en": "Not handled here: see whom to contact"},
    },
    "duplicate": {
        "staff": {"zh-CN": "重复件", "en": "Duplicate"},
        "resident": {"zh-CN": "已与之前的诉求合并", "en": "Merged with an earlier request"},
    },
    "cancelled": {
        "staff": {"zh-CN": "已撤销", "en": "Cancelled"},
        "resident": {"zh-CN": "已取消", "en": "Cancelled"},
    },
}

STATUSES: tuple[str, ...] = tuple(LABELS)

# Office words a resident does not use: never on a resident's page or in a message to a resident.
RESIDENT_JARGON: dict[str, tuple[str, ...]] = {
    "zh-CN": (
        *("派单", "签收", "办结", "归档", "不予受理", "不受理", "受理编号", "退回了", "退单"),
        *("工单", "挂起", "转派", "督办", "催办", "三非", "遗孀"),
    ),
    "en": ("dispatch", "signed for", "claimed", "not accepted", "three illegals", "widowed"),
}


def labels(status: str, audience: Audience = "staff") -> LocalizedText:
    """Both languages of a status's label; an unknown status is its own label."""
    entry = LABELS.get(status)
    return entry[audience] if entry else {"zh-CN": status, "en": status}


def label(status: str | None, language: str | None, audience: Audience = "staff") -> str:
    return pick(labels(status or "", audience), language) if status else ""
