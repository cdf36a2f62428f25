"""Every one-node fault, injected mid-load into a stack of separate processes: nothing lost, nothing
duplicated, nothing unexpected, every queue drained."""

from __future__ import annotations

from pathlib import Path

import pytest

from huiying.chaos.broker import PrivateNode
from huiying.chaos.faults import FAULTS, ONE_NODE, POISON_COUNT
from huiying.chaos.run import Result, run_fault
from tests.chaos.conftest import needs_rabbitmq_server

N, RATE = 16, 4.0

pytestmark = needs_rabbitmq_server


def assert_nothing_lost(result: Result) -> None:
    summary = f"{result}"
    assert result.drained, summary
    assert result.accepted == N, summary
    assert (result.lost, result.duplicated, result.unexpected) == (0, 0, 0), summary


@pytest.mark.parametrize("fault", ONE_NODE)
def test_nothing_is_lost_or_duplicated_when(fault: str, chaos_node: PrivateNode, chaos_dir: Path) -> None:
    result = run_fault(FAULTS[fault], n=N, rate=RATE, workdir=chaos_dir, node=chaos_node)
    assert_nothing_lost(result)
    assert result.injected, result
    if fault.startswith("kill-") or fault == "replica-killed":
        # The fault really happened: the supervisor had to restart what was killed.
        killed = {"kill-database": "mongo-routing"}.get(fault, fault.removeprefix("kill-"))
        expected = {"intake-2", "routing-2", "notify-2"} if fault == "replica-killed" else {killed}
        assert set(result.restarts) == expected, result.restarts
    if fault == "poison":
        # Each poison message is dead-lettered by every consumer queue it reached, and nothing else is.
        assert result.dlq >= POISON_COUNT, result
    else:
        assert result.dlq == 0, result
