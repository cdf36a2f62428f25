"""Who filed on a resident's behalf reaches the task, its history and the ledgers; what routing publishes
(task events, team work items) carries only the resident data its consumers need."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from services.routing.domain.ledger import summarize
from services.routing.domain.lifecycle import not_accepted_record, open_task
from services.routing.domain.rules import RoutingInput, decide
from services.routing.domain.views import task_view
from services.routing.domain.workitems import work_item
from shared.events import RequestNotAccepted, Resident
from tests.unit.routing.factories import DIRECTORY, RULES, SH, SUPERVISOR, context, submitted


def dispatched(filed_by: str | None = "网格员老赵", description: str = "卫生间门锁坏了") -> tuple[object, object]:
    sub = submitted(description=description).model_copy(
        update={"channel": "grid", "channel_kind": "grid_worker", "on_behalf": True, "filed_by": filed_by}
    )
    inp = RoutingInput(sub.service_code, sub.description, "3", "grid-1", {}, ())
    outcome = open_task(sub, decide(inp, RULES, 1, DIRECTORY), "grid-1", "3", context(), sub.submitted_at, None)
    return outcome, sub


def test_the_filer_is_on_the_task_its_page_and_its_history() -> None:
    outcome, _ = dispatched()
    task = outcome.task  # type: ignore[attr-defined]
    assert task.filed_by == "网格员老赵" and task.on_behalf
    view = task_view(task, SUPERVISOR, DIRECTORY, datetime.now(UTC))
    assert view["filed_by"] == "网格员老赵"
    assert view["history"][0]["details"]["filed_by"] == "网格员老赵"
    self_filed, _ = dispatched(filed_by=None)
    assert "filed_by" not in self_filed.task.history[0].details  # type: ignore[attr-defined]


def test_a_refusal_at_the_door_keeps_its_filer_for_the_ledger() -> None:
    data = RequestNotAccepted(
        request_id="r-1",
        tracking_code="HY0000000001",
        service_code="emergency",
        reason_code="gas_leak",
        referral={"zh-CN": "请拨打119", "en": "Call 119"},
        channel="hotline",
        resident=Resident(name=""),
        on_behalf=True,
        filed_by="坐席07",
    )
    task = not_accepted_record(data, datetime(2026, 11, 24, 1, tzinfo=UTC), context())
    assert task.filed_by == "坐席07" and task.history[0].details["filed_by"] == "坐席07"


def test_the_ledger_groups_by_filer() -> None:
    at = datetime(2026, 11, 24, 1, tzinfo=UTC)
    rows = [
        {"status": "dispatched", "submitted_at": at, "filed_by": "网格员老赵"},
        {"status": "closed", "submitted_at": at, "filed_by": "网格员老赵"},
        {"status": "dispatched", "submitted_at": at, "filed_by": None},
    ]
    result = summarize(rows, "filer", at, SH)
    assert [(g["group"], g["count"]) for g in result["groups"]] == [("self", 1), ("网格员老赵", 2)]


def test_task_events_carry_no_tracking_code() -> None:
    outcome, sub = dispatched()
    [event] = outcome.events  # type: ignore[attr-defined]
    assert event.type == "task.dispatched" and event.data.get("tracking_code") is None
    assert sub.tracking_code not in json.dumps(event.model_dump(mode="json"), ensure_ascii=False)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("policy", "phone", "in_text"),
    [("masked", "138****8000", "138****8000"), ("full", "13800138000", "13800138000"), ("none", None, "138****8000")],
)
def test_a_work_item_carries_the_phone_as_the_team_chose(policy: str, phone: str | None, in_text: str) -> None:
    outcome, sub = dispatched(description="门锁坏了，回电 13800138000")
    [event] = outcome.events  # type: ignore[attr-defined]
    task = outcome.task.model_dump(by_alias=True)  # type: ignore[attr-defined]
    item = work_item(event, event.payload(), task, policy)  # type: ignore[arg-type]
    body = item.model_dump(mode="json")
    assert body["resident_phone"] == phone and in_text in body["description"]
    assert "tracking_code" not in body and sub.tracking_code not in json.dumps(body)  # type: ignore[attr-defined]
    assert "王阿姨" not in json.dumps(body, ensure_ascii=False)  # no name, whatever the team chose


def test_teams_default_to_masked_phones() -> None:
    assert {t.work_item_phone for t in DIRECTORY.teams} == {"masked"}
