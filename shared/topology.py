"""The whole event topology, declared once: every exchange, every consumer queue with its bindings, its
retry and dead-letter queues, the team work queues, the alternate exchange, and the RabbitMQ policies
that carry the queues' settings.

This module is the single source of truth. Every service declares all of it at start-up, before it
publishes anything (`Bus.declare_topology`), so an event published before its consumer has started
waits in the consumer's queue instead of being confirmed and dropped. `huiying topology` prints, applies,
checks and migrates it, and writes deploy/rabbitmq/definitions.json from it.

    huiying.events (topic) ──binding keys──> Q ──(dead-lettered)──> huiying.events.dlx ──(key Q)──> Q.dlq
        │                                    ^ └──(retry: published by the bus)──> Q.retry
        │                                    └──────────(message TTL expires, key Q)──────┘
        └──(no binding matches: alternate exchange)──> huiying.unroutable ──> huiying.unroutable
    huiying.work (direct) ──team id──> work.<team> ──(dead-lettered)──> huiying.work.dlx ──> work.<team>.dlq

Queues are declared with `x-queue-type: quorum` and nothing else. Dead-lettering, the delivery limit and
the retry delay are RabbitMQ *policies* (one per queue, named after the queue, matching only that
queue's exact name), so an operator changes them on live queues without deleting anything. The
alternate exchange is a policy on the events exchange as well.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Literal

from shared.settings import Settings

# Every consumer queue of every service, with the event types it takes. Names are given without the
# deployment's queue prefix (`HUIYING_QUEUE_PREFIX`). A service consumes only its own queues, but
# declares all of them.
ROUTING_REQUEST_EVENTS = (
    "request.submitted",
    "request.cancelled",
    "request.feedback_received",
    "request.not_accepted",
    "request.supplemented",  # the resident added words or photos: the task's history
)
ROUTING_WORK_EVENTS = (
    "task.dispatched",
    "task.transferred",
    "task.reopened",
    "request.supplemented",  # ...and an item on the handling team's work queue
)
# The care register (routing's care.*): intake files the requests visits raise; notify tells staff of visits
# that are due or missed.
INTAKE_CARE_EVENTS = ("care.visit_recorded",)
NOTIFY_CARE_EVENTS = ("care.visit_due", "care.visit_reminder", "care.visit_escalated")

# What each service publishes on the events exchange (RabbitMQ topic permissions in definitions.json).
PUBLISHES: dict[str, tuple[str, ...]] = {
    "intake": ("request.*",),
    "routing": ("task.*", "staff.*", "care.*"),
    "notify": (),
}
# Service days: routing publishes the programme, intake the residents' sign-ups.
PUBLISHES["routing"] += ("serviceday.*",)
PUBLISHES["intake"] += ("signup.*",)
# The ledgers' weekly report (routing's ledger.*): notify e-mails it to the supervisors.
PUBLISHES["routing"] += ("ledger.*",)
NOTIFY_LEDGER_EVENTS = ("ledger.weekly_report",)

UNROUTABLE = "huiying.unroutable"
POLICY_PRIORITY = 10  # above the catch-all policies operators (and the test suite) may add
QUEUE_TYPE = {"x-queue-type": "quorum"}

ExchangeType = Literal["topic", "direct", "fanout"]


@dataclass(frozen=True)
class ConsumerQueue:
    """A queue a service consumes from the events exchange (name without the deployment prefix)."""

    name: str
    service: str
    keys: tuple[str, ...]


CONSUMER_QUEUES: tuple[ConsumerQueue, ...] = (
    # intake: routing's task.* events feed the public status view; staff.* keeps its staff read model.
    ConsumerQueue("intake.task-events", "intake", ("task.*", "staff.*", *INTAKE_CARE_EVENTS)),
    # routing: intake's request events drive the lifecycle.
    ConsumerQueue("routing.request-events", "routing", ROUTING_REQUEST_EVENTS),
    # routing: its own dispatch events become items on the team work queues.
    ConsumerQueue("routing.work-items", "routing", ROUTING_WORK_EVENTS),
    # notify: every request and task event may become a message to the resident.
    ConsumerQueue("notify.events", "notify", ("request.*", "task.*", "staff.*", *NOTIFY_CARE_EVENTS)),
)
# Service days (便民服务日) ride on each service's existing queue (no more queues to declare at every start):
# intake's read model of routing's programme, routing's attendance list from intake's sign-ups, notify tells
# the residents. Each service subscribes their handlers with the rest of the queue's (shared/bus.py: one
# consumer per queue).
SERVICEDAY_KEYS: dict[str, tuple[str, ...]] = {
    "intake.task-events": ("serviceday.*",),
    "routing.request-events": ("signup.made", "signup.cancelled"),
    "notify.events": ("signup.*",),
}
CONSUMER_QUEUES = tuple(replace(c, keys=c.keys + SERVICEDAY_KEYS.get(c.name, ())) for c in CONSUMER_QUEUES)
# The weekly report rides on notify's queue too.
CONSUMER_QUEUES = tuple(
    replace(c, keys=c.keys + NOTIFY_LEDGER_EVENTS) if c.name == "notify.events" else c for c in CONSUMER_QUEUES
)
# Privacy requests (个人信息保护法, shared/events/privacy.py) ride on the existing queues too: every service
# (routing included) handles the requests; routing collects the answers.
PRIVACY_REQUESTS = ("privacy.export_requested", "privacy.erasure_requested")
PRIVACY_ANSWERS = ("privacy.export_part", "privacy.erased")
PRIVACY_KEYS: dict[str, tuple[str, ...]] = {
    "intake.task-events": PRIVACY_REQUESTS,
    "routing.request-events": PRIVACY_REQUESTS + PRIVACY_ANSWERS,
    "notify.events": PRIVACY_REQUESTS,
}
CONSUMER_QUEUES = tuple(replace(c, keys=c.keys + PRIVACY_KEYS.get(c.name, ())) for c in CONSUMER_QUEUES)
PUBLISHES["routing"] += PRIVACY_REQUESTS + PRIVACY_ANSWERS
PUBLISHES["intake"] += PRIVACY_ANSWERS
PUBLISHES["notify"] += PRIVACY_ANSWERS
# Administration (issue 15): documents edited in routing's console travel as config.changed to the service
# that uses them (notify's message templates, intake's catalogue), on its existing queue.
PUBLISHES["routing"] += ("config.*",)
CONFIG_KEYS: dict[str, tuple[str, ...]] = {
    "notify.events": ("config.changed",),
    "intake.task-events": ("config.changed",),
}
CONSUMER_QUEUES = tuple(replace(c, keys=c.keys + CONFIG_KEYS.get(c.name, ())) for c in CONSUMER_QUEUES)


@dataclass(frozen=True)
class Exchange:
    name: str
    type: ExchangeType


@dataclass(frozen=True)
class Binding:
    exchange: str
    key: str


@dataclass(frozen=True)
class Queue:
    name: str
    bindings: tuple[Binding, ...] = ()
    consumer: ConsumerQueue | None = None  # set on a consumer's main queue


@dataclass(frozen=True)
class Policy:
    name: str
    pattern: str
    apply_to: Literal["queues", "exchanges"]
    definition: dict[str, Any]
    priority: int = POLICY_PRIORITY

    def as_definition(self, vhost: str) -> dict[str, Any]:
        """The form RabbitMQ's definitions file and management API use."""
        return {
            "vhost": vhost,
            "name": self.name,
            "pattern": self.pattern,
            "apply-to": self.apply_to,
            "definition": self.definition,
            "priority": self.priority,
        }


def topic_matches(pattern: str, key: str) -> bool:
    """AMQP topic matching: `*` is one word, `#` is zero or more words."""
    p, k = pattern.split("."), key.split(".")

    def match(i: int, j: int) -> bool:
        if i == len(p):
            return j == len(k)
        if p[i] == "#":
            return any(match(i + 1, jj) for jj in range(j, len(k) + 1))
        if j == len(k):
            return False
        return (p[i] == "*" or p[i] == k[j]) and match(i + 1, j + 1)

    return match(0, 0)


def exact(name: str) -> str:
    """A policy pattern that matches `name` and nothing else (so a test's policy never touches another
    test's queue, and production's never touches a queue that merely starts with the same words)."""
    return f"^{re.escape(name)}$"


@dataclass(frozen=True)
class Topology:
    prefix: str
    events_exchange: str
    work_exchange: str
    delivery_limit: int
    retry_delay_ms: int
    expires_ms: int | None = None
    consumers: tuple[ConsumerQueue, ...] = CONSUMER_QUEUES
    teams: tuple[str, ...] = ()

    @classmethod
    def of(cls, settings: Settings, *, teams: tuple[str, ...] | list[str] = ()) -> Topology:
        return cls(
            prefix=settings.queue_prefix,
            events_exchange=settings.events_exchange,
            work_exchange=settings.work_exchange,
            delivery_limit=settings.delivery_limit,
            retry_delay_ms=settings.retry_delay_ms,
            expires_ms=settings.queue_expires_ms,
            teams=tuple(sorted(set(teams))),
        )

    def with_consumer(self, name: str, keys: list[str] | tuple[str, ...], service: str = "") -> Topology:
        """This topology and one more consumer queue `name` (already prefixed), e.g. a test's own."""
        unprefixed = name.removeprefix(self.prefix)
        if any(c.name == unprefixed for c in self.consumers):
            return self
        return replace(self, consumers=(*self.consumers, ConsumerQueue(unprefixed, service, tuple(keys))))

    def with_teams(self, teams: tuple[str, ...] | list[str]) -> Topology:
        return replace(self, teams=tuple(sorted(set(self.teams) | set(teams))))

    # -- names -------------------------------------------------------------------------------------------

    def queue_name(self, name: str) -> str:
        return f"{self.prefix}{name}"

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self.events_exchange}.dlx"

    @property
    def work_dead_letter_exchange(self) -> str:
        return f"{self.work_exchange}.dlx"

    @property
    def unroutable(self) -> str:
        """The alternate exchange of the events exchange, and the one queue bound to it."""
        return f"{self.prefix}{UNROUTABLE}"

    def work_queue(self, team_id: str) -> str:
        return self.queue_name(f"work.{team_id}")

    def consumer(self, name: str) -> ConsumerQueue:
        """The consumer queue `name` (unprefixed)."""
        for c in self.consumers:
            if c.name == name:
                return c
        raise KeyError(f"no consumer queue {name!r} in the topology")

    # -- what is declared ------------------------------------------------------------------------------

    def exchanges(self) -> list[Exchange]:
        return [
            Exchange(self.events_exchange, "topic"),
            Exchange(self.dead_letter_exchange, "direct"),
            Exchange(self.unroutable, "fanout"),
            Exchange(self.work_exchange, "direct"),
            Exchange(self.work_dead_letter_exchange, "direct"),
        ]

    def consumer_queues(self, c: ConsumerQueue) -> list[Queue]:
        """Q.dlq, Q.retry and Q, in the order they are declared (what a queue dead-letters into first)."""
        name = self.queue_name(c.name)
        return [
            Queue(f"{name}.dlq", (Binding(self.dead_letter_exchange, name),)),
            Queue(f"{name}.retry"),
            Queue(name, tuple(Binding(self.events_exchange, key) for key in c.keys), consumer=c),
        ]

    def team_queues(self, team_id: str) -> list[Queue]:
        name = self.work_queue(team_id)
        return [
            Queue(f"{name}.dlq", (Binding(self.work_dead_letter_exchange, team_id),)),
            Queue(name, (Binding(self.work_exchange, team_id),)),
        ]

    def queues(self) -> list[Queue]:
        out = [Queue(self.unroutable, (Binding(self.unroutable, ""),))]
        for c in self.consumers:
            out += self.consumer_queues(c)
        for team in self.teams:
            out += self.team_queues(team)
        return out

    def routes(self, event_type: str) -> list[str]:
        """The consumer queues an event of `event_type` reaches."""
        return [self.queue_name(c.name) for c in self.consumers if any(topic_matches(k, event_type) for k in c.keys)]

    # -- policies --------------------------------------------------------------------------------------

    def _dead_lettering(self, exchange: str, key: str) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "dead-letter-exchange": exchange,
            "dead-letter-routing-key": key,
            # at-least-once dead-lettering (it needs reject-publish): nothing is lost between Q and its DLQ.
            "dead-letter-strategy": "at-least-once",
            "overflow": "reject-publish",
        }
        if self.expires_ms is not None:
            settings["expires"] = self.expires_ms
        return settings

    def policies_for(self, queue: Queue) -> list[Policy]:
        name = queue.name
        if queue.consumer is not None:
            main = self._dead_lettering(self.dead_letter_exchange, name) | {"delivery-limit": self.delivery_limit}
            return [Policy(name, exact(name), "queues", main)]
        if name.endswith(".retry"):
            # Expired retries go back to Q through the default exchange, after the retry delay.
            back = name.removesuffix(".retry")
            retry = self._dead_lettering("", back) | {"message-ttl": self.retry_delay_ms}
            return [Policy(name, exact(name), "queues", retry)]
        team = next((t for t in self.teams if self.work_queue(t) == name), None)
        if team is not None:
            work = self._dead_lettering(self.work_dead_letter_exchange, team) | {"delivery-limit": self.delivery_limit}
            return [Policy(name, exact(name), "queues", work)]
        if self.expires_ms is not None:  # DLQs and the unroutable queue: only a throwaway stack's expiry
            return [Policy(name, exact(name), "queues", {"expires": self.expires_ms})]
        return []

    def policies(self) -> list[Policy]:
        alternate = Policy(
            self.events_exchange, exact(self.events_exchange), "exchanges", {"alternate-exchange": self.unroutable}
        )
        return [alternate, *(p for q in self.queues() for p in self.policies_for(q))]

    def policy_names(self) -> set[str]:
        return {p.name for p in self.policies()}


def describe(topology: Topology) -> str:
    lines = ["exchanges:"]
    lines += [f"  {e.name} ({e.type})" for e in topology.exchanges()]
    lines.append("queues (quorum):")
    for q in topology.queues():
        binds = ", ".join(f"{b.exchange}:{b.key or '*'}" for b in q.bindings)
        lines.append(f"  {q.name}" + (f"  <- {binds}" if binds else ""))
    lines.append("policies:")
    for p in topology.policies():
        lines.append(f"  {p.name} [{p.apply_to}] {p.definition}")
    return "\n".join(lines)
