"""The chaos suite in `make test`: a short run of every fault, with the code `huiying chaos` and
`make chaos` run, on a private RabbitMQ node (the machine's broker is never stopped). The faults run one
after the other on one stack per replica count (`huiying chaos --shared-stack`), which keeps the whole
suite to a few minutes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from huiying.chaos.faults import ONE_NODE
from huiying.chaos.run import Result, run_suite
from huiying.cluster import available

N, RATE = 12, 6.0

needs_rabbitmq_server = pytest.mark.skipif(not available(), reason="needs rabbitmq-server to start private nodes")


@pytest.fixture(scope="session")
def one_node_results(amqp_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Result]]:
    workdir = Path(tmp_path_factory.mktemp("chaos"))
    results = run_suite(ONE_NODE, n=N, rate=RATE, workdir=workdir, shared=True)
    yield {r.fault: r for r in results}
