"""Every one-node fault, injected mid-load into a stack of separate processes: nothing lost, nothing
duplicated, nothing unexpected, every queue drained."""

from __future__ import annotations

import pytest

from huiying.chaos.faults import ONE_NODE, POISON_COUNT
from huiying.chaos.run import Result, as_json, table
from tests.chaos.conftest import N, needs_rabbitmq_server

# The first test waits for the whole short suite (the session fixture), about four minutes.
pytestmark = [needs_rabbitmq_server, pytest.mark.timeout(900)]


@pytest.mark.parametrize("fault", ONE_NODE)
def test_nothing_is_lost_or_duplicated_when(fault: str, one_node_results: dict[str, Result]) -> None:
    result = one_node_results[fault]
    report = as_json([result])
    assert result.drained and result.accepted == N, report
    assert (result.lost, result.duplicated, result.unexpected) == (0, 0, 0), report
    assert result.injected, report
    if fault.startswith("kill-") or fault == "replica-killed":
        # The fault really happened: the supervisor had to restart what was killed.
        killed = {"kill-database": "mongo-routing"}.get(fault, fault.removeprefix("kill-"))
        expected = {"intake-2", "routing-2", "notify-2"} if fault == "replica-killed" else {killed}
        assert set(result.restarts) == expected, report
    if fault == "network-cut":
        assert not result.injected.startswith("closed 0 "), report
    if fault == "poison":
        # Each poison message is dead-lettered by every consumer queue it reached, and nothing else is.
        assert result.dlq >= POISON_COUNT, report
    else:
        assert result.dlq == 0, report


def test_the_table_has_a_row_per_fault(one_node_results: dict[str, Result]) -> None:
    lines = table(list(one_node_results.values())).splitlines()
    assert lines[0].split()[:6] == ["fault", "nodes", "replicas", "requests", "accepted", "lost"]
    assert [line.split()[0] for line in lines[2:]] == ONE_NODE
