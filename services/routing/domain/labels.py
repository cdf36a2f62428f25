"""Every label routing shows, in zh-CN and en: priorities, return and not-accept reasons, actions, roles.

Status labels are the one table of shared/statuses.py (audience "staff"). The staff API
(GET /v1/lifecycle, task views) and the console read their words from here; the console's other page
text is in deploy/routing/console-messages.yaml.
"""

from __future__ import annotations

from shared.i18n import LocalizedText
from shared.statuses import labels


def _table(*rows: tuple[str, str, str]) -> dict[str, LocalizedText]:
    return {key: {"zh-CN": zh, "en": en} for key, zh, en in rows}


def status_label(status: str) -> LocalizedText:
    """What staff read for a task status."""
    return labels(status, "staff")


PRIORITY_LABELS = _table(
    ("urgent", "紧急", "Urgent"),
    ("high", "较急", "High"),
    ("normal", "一般", "Normal"),
    ("low", "不急", "Low"),
)

# Why a team sends a task back (退单).
RETURN_REASONS = _table(
    ("wrong_locality", "不属本辖区", "Wrong locality"),
    ("outside_remit", "不属本部门职责", "Outside our remit"),
    ("insufficient_information", "信息不全，无法办理", "Not enough information"),
    ("misrouted", "派单错误", "Sent to the wrong team"),
    ("other", "其他原因", "Other"),
)

# Why a request is not accepted (不受理), with the referral the resident is given.
NOT_ACCEPT_REASONS = _table(
    ("emergency", "紧急情况，请拨打110/119/120", "Emergency: call 110 / 119 / 120"),
    ("in_litigation", "已进入诉讼或仲裁程序", "In litigation or arbitration"),
    ("other_authority", "属其他机关职权", "For another authority"),
    ("not_actionable", "诉求无法受理", "Not something we can act on"),
    ("other", "其他原因", "Other"),
)

# Each action: its term in the lifecycle's vocabulary (GET /v1/lifecycle; in English, the action's own name;
# the system's steps have none), then what the console's buttons and history lines say in zh-CN and en.
ACTIONS: dict[str, tuple[str | None, str, str]] = {
    "claim": ("签收", "签收", "Claim"),
    "start": ("开始办理", "开始办理", "Start"),
    "hold": ("挂起", "挂起", "Put on hold"),
    "resume": ("恢复办理", "恢复办理", "Resume"),
    "note": ("备注", "添加备注", "Add a note"),
    "resolve": ("办结", "办结", "Resolve"),
    "return": ("退单", "退单", "Return"),
    "transfer": ("转派", "转派", "Transfer"),
    "extend": ("申请延期", "申请延期", "Request an extension"),
    "approve-extension": ("批准延期", "批准延期", "Approve the extension"),
    "deny-extension": ("驳回延期", "驳回延期", "Deny the extension"),
    "dispatch": ("派单", "派单", "Dispatch"),
    "assign": ("指派", "指派", "Assign"),
    "duplicate": ("重复件", "标记为重复件", "Mark as a duplicate"),
    "not-accept": ("不受理", "不予受理", "Do not accept"),
    "approve-reply": ("审核通过", "审核通过", "Approve the reply"),
    "send-back": ("退回修改", "退回修改", "Send back"),
    "submit-review": (None, "提交审核", "Submitted for review"),
    "cancel": (None, "居民撤销", "Cancelled by the resident"),
    "feedback": (None, "居民评价", "Resident's rating"),
    "reopen": (None, "重办", "Reopened"),
    "close": (None, "归档", "Closed"),
    "remind": (None, "到期提醒", "Reminder"),
    "escalate": (None, "催办/督办", "Escalated"),
    "resident_added": (None, "居民补充", "Added by the resident"),
}
ACTION_LABELS: dict[str, LocalizedText] = {action: {"zh-CN": zh, "en": en} for action, (_, zh, en) in ACTIONS.items()}


def action_term(action: str) -> LocalizedText:
    """A staff action's name in the lifecycle's vocabulary."""
    term = ACTIONS[action][0]
    assert term is not None, f"{action} is a step of the system, not a staff action"
    return {"zh-CN": term, "en": action.replace("-", " ")}


# Where a request came in: a channel's kind (intake's channel kinds), and the portal by its own name.
CHANNEL_KIND_LABELS = _table(
    ("web", "网站/App", "Website or app"),
    ("miniprogram", "小程序", "Mini program"),
    ("window", "服务站窗口", "Service window"),
    ("hotline", "热线电话", "Hotline"),
    ("grid_worker", "网格员代报", "Grid worker"),
)
CHANNEL_LABELS = _table(("portal", "居民网站", "Resident website"))

# Staff roles; the English names also word the lifecycle's refusals ("only a team lead may ...").
ROLE_LABELS = _table(
    ("member", "组员", "team member"),
    ("lead", "组长", "team lead"),
    ("supervisor", "督办人员", "supervisor"),
    ("admin", "管理员", "admin"),
)

# The vulnerable groups (困难群体) a resident may be in (deploy/catalogue.yaml; the console's words are in
# deploy/routing/console-messages.yaml `vulnerability.*`), and how a rating was given: the ledgers' words.
VULNERABILITY_LABELS = _table(
    ("elderly_alone", "独居老人", "Elderly, living alone"),
    ("disabled", "残障人士", "Living with a disability"),
    ("widowed", "丧偶独居", "Lost a spouse, living alone"),
    ("hardship", "困难家庭", "Household in hardship"),
)
RATING_LABELS = _table(
    ("satisfied", "满意", "Satisfied"),
    ("fairly_satisfied", "基本满意", "Fairly satisfied"),
    ("dissatisfied", "不满意", "Dissatisfied"),
)
RATING_SOURCE_LABELS = _table(("resident", "群众自评", "By the resident"), ("callback", "电话回访", "On a call-back"))
