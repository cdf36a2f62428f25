"""What a fault can reach while it runs: the stack, the broker node or cluster, the run's names."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field

from huiying.chaos import audit
from huiying.cluster import Cluster, PrivateNode
from huiying.stack import Stack
from shared.settings import Settings


@dataclass
class Scene:
    """What a fault can reach while it runs."""

    stack: Stack
    settings: Settings
    amqp_url: str
    node: PrivateNode | None = None
    cluster: Cluster | None = None
    revive: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # the supervisor's restart notices
    supervising: threading.Event | None = None

    def dlq(self) -> int:
        return sum(c for q, c in self.queue_counts().items() if q.endswith(".dlq"))

    def nodes(self) -> list[PrivateNode]:
        if self.cluster is not None:
            return self.cluster.up()
        return [self.node] if self.node is not None else []

    def queue_counts(self) -> dict[str, int]:
        """Messages in each of this run's queues (ready and unacknowledged), asked of a node that is up."""
        prefix = self.settings.queue_prefix
        for node in self.nodes():
            result = node.ctl("list_queues", "name", "messages", "--formatter", "json", timeout=60)
            if result.returncode == 0:
                rows = json.loads(result.stdout or "[]")
                return {r["name"]: int(r["messages"] or 0) for r in rows if r["name"].startswith(prefix)}
        return {}

    def busy(self) -> int:
        """Messages still waiting in consumer and retry queues (not dead-letter, work or witness queues)."""
        counts = self.queue_counts()
        if not counts:
            return 1  # no node answered: not drained yet
        skip = (f"{self.settings.queue_prefix}work.", f"{self.settings.queue_prefix}{audit.WITNESS}")
        return sum(n for q, n in counts.items() if not q.endswith(".dlq") and not q.startswith(skip))
