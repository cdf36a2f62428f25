"""The chaos suite in `make test`: a short run of every fault on a private RabbitMQ node (and a private
three-node cluster), with the same code `huiying chaos` and `make chaos` run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from huiying.chaos.broker import PrivateNode, available, make_private_broker

needs_rabbitmq_server = pytest.mark.skipif(not available(), reason="needs rabbitmq-server to start private nodes")


@pytest.fixture(scope="session")
def chaos_node(amqp_url: str) -> Iterator[PrivateNode]:
    node = make_private_broker()
    yield node
    node.destroy()


@pytest.fixture(scope="session")
def chaos_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chaos")
