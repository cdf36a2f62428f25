"""The cluster faults on a private three-node RabbitMQ cluster: one node killed, and the leader of the
busiest quorum queue killed, mid-load; the services hold the list of all three nodes and fail over.

Starting three nodes and joining them takes one to two minutes on a busy two-core machine, which does not
fit `make test`'s budget next to the one-node suite: this module runs with HUIYING_TEST_CLUSTER=1
(`make chaos` runs the same faults with 1,000 requests each)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from huiying.chaos.faults import THREE_NODES
from huiying.chaos.run import as_json, run_suite
from tests.chaos.conftest import RATE, N, needs_rabbitmq_server

pytestmark = [
    needs_rabbitmq_server,
    pytest.mark.skipif(not os.environ.get("HUIYING_TEST_CLUSTER"), reason="set HUIYING_TEST_CLUSTER=1 (slow)"),
    pytest.mark.timeout(900),
]


def test_one_node_killed_and_the_busiest_leader_killed_lose_and_duplicate_nothing(
    amqp_url: str, tmp_path: Path
) -> None:
    results = run_suite(THREE_NODES, n=N, rate=RATE, workdir=tmp_path, nodes=3, shared=True)
    report = as_json(results)
    assert [r.fault for r in results] == THREE_NODES
    for r in results:
        assert r.nodes == 3 and r.drained and r.accepted == N, report
        assert (r.lost, r.duplicated, r.unexpected) == (0, 0, 0), report
        assert r.injected.startswith("SIGKILL "), report
