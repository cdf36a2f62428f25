"""One chaos run: a fresh stack of separate processes (its own names, ports and databases) on the chaos
broker (a private node, or a private three-node cluster), steady load, one fault mid-load, the drain, the
audit. `run_suite` runs several faults one after the other on the same broker.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from huiying import procs
from huiying.chaos import audit, load
from huiying.chaos.faults import FAULTS, POISON_COUNT, Fault
from huiying.chaos.scene import Scene
from huiying.cluster import Cluster, PrivateNode, make_private_broker
from huiying.stack import REPLICA_PORT_STEP, Stack, StackError
from shared.settings import SERVICES, Settings


@dataclass
class Result:
    fault: str
    what: str
    nodes: int
    replicas: int
    requests: int
    accepted: int
    lost: int
    duplicated: int
    unexpected: int
    server_errors: int
    drain_s: float
    dlq: int
    drained: bool
    load_s: float = 0.0  # from the first request sent to the last one answered (N / rate when the stack keeps up)
    redelivered: int = 0
    retries: int = 0
    not_accepted: int = 0
    injected: str = ""
    restarts: dict[str, int] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.drained and self.lost == 0 and self.duplicated == 0 and self.unexpected == 0


def _ports(replicas: int) -> dict[str, int]:
    """A base port per service such that every replica's port (base + 100 k) is free."""
    chosen: dict[str, int] = {}
    used: set[int] = set()
    for service in SERVICES:
        while True:
            base = procs_free_port()
            ports = [base + REPLICA_PORT_STEP * k for k in range(replicas)]
            if max(ports) < 65000 and not used & set(ports) and all(procs.port_free("127.0.0.1", p) for p in ports):
                chosen[service] = base
                used |= set(ports)
                break
    return chosen


def procs_free_port() -> int:
    from huiying.cluster import free_port

    return free_port()


def chaos_env(tag: str, amqp_url: str, management_url: str, data_dir: Path, replicas: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUIYING_")}
    env.update(
        {
            "HUIYING_MODE": "dev",
            "HUIYING_AMQP_URL": amqp_url,
            # Queue policies go to the chaos broker's own management API, never to the shared broker's.
            "HUIYING_AMQP_MANAGEMENT_URL": management_url,
            "HUIYING_EVENTS_EXCHANGE": f"{tag}events",
            "HUIYING_WORK_EXCHANGE": f"{tag}work",
            "HUIYING_QUEUE_PREFIX": tag,
            "HUIYING_EMBEDDED_ENGINE": "memory",
            "HUIYING_DATA_DIR": str(data_dir),
            "HUIYING_LOG_LEVEL": "WARNING",
            # The retry delay and the database time-out are production's (5 s each): shorter ones made a
            # loaded machine's run fragile, not quicker. With tries every 0.5 s, 60 tries (the transient
            # limit) covered 30 s of trouble instead of 5 minutes, and the retries' own traffic kept intake
            # too busy to answer its database's heartbeat in 3 s: its connection pool stayed paused for
            # minutes and task events were dead-lettered (kill-notify, 2026-12-03, load average 23).
            "HUIYING_OUTBOX_SWEEP_INTERVAL_S": "0.5",
            "HUIYING_OUTBOX_LEASE_S": "5",
            "HUIYING_RATE_LIMIT_PER_ADDRESS": "0",
            "HUIYING_RATE_LIMIT_PER_KEY": "0",
            **{f"HUIYING_{s.upper()}_PORT": str(p) for s, p in _ports(replicas).items()},
        }
    )
    return env


def settings_from(env: dict[str, str]) -> Settings:
    values: dict[str, Any] = {k.removeprefix("HUIYING_").lower(): v for k, v in env.items() if k.startswith("HUIYING_")}
    return Settings(**values)


def open_scene(
    *,
    workdir: Path,
    replicas: int,
    engines: dict[str, str],
    node: PrivateNode | None,
    cluster: Cluster | None,
    say: Callable[[str], None],
    attempts: int = 3,
) -> Scene:
    """A started stack of its own names, ports and databases on the chaos broker, supervised. The ports are
    free when chosen; on a shared machine another process may take one before the service binds it, so a
    stack that fails to start is tried again on new ports (and names)."""
    for attempt in range(1, attempts + 1):
        try:
            return _open_scene(workdir=workdir, replicas=replicas, engines=engines, node=node, cluster=cluster, say=say)
        except StackError as exc:
            if attempt == attempts:
                raise
            say(f"chaos: the stack did not start ({exc}); again on new ports")
    raise AssertionError("unreachable")


def _open_scene(
    *,
    workdir: Path,
    replicas: int,
    engines: dict[str, str],
    node: PrivateNode | None,
    cluster: Cluster | None,
    say: Callable[[str], None],
) -> Scene:
    tag = f"hyc{uuid.uuid4().hex[:6]}-"
    amqp_url = cluster.amqp_url if cluster is not None else node.url if node is not None else ""
    run_dir = workdir / tag.rstrip("-")
    nodes = cluster.nodes if cluster is not None else [node] if node is not None else []
    assert nodes
    # Every node's management API, in the order of the AMQP list: policies are put in place through the first
    # that answers (the first node may be the one a fault killed).
    management = ",".join(n.management_url for n in nodes)
    env = chaos_env(tag, amqp_url, management, run_dir / "var", replicas)
    settings = settings_from(env)
    notices: list[str] = []
    stack = Stack(settings, env=env, log_dir=run_dir / "logs", replicas=replicas, engines=engines, say=notices.append)
    scene = Scene(stack, settings, amqp_url, node=node, cluster=cluster, notices=notices)
    say(f"chaos: starting {replicas} replica(s) of each service (logs in {run_dir}) ...")
    started = time.monotonic()
    stack.start()
    say(f"chaos: ready in {time.monotonic() - started:.0f}s")
    scene.supervising = stack.supervise_in_background()
    return scene


def close_scene(scene: Scene) -> None:
    if scene.supervising is not None:
        scene.supervising.set()
    scene.stack.stop()


def dead_lettered(scene: Scene, before: int, expected: int, deadline_s: float = 30.0) -> int:
    """Messages dead-lettered since `before`. The consumers reject a poison message as soon as it arrives, but it
    reaches its `.dlq` queue through the broker's own dead-lettering, which can trail a fast drain (a CI run read 0
    of 10, 0.8 s after the drain): wait for the `expected` ones, up to `deadline_s`, then report what is there."""
    deadline = time.monotonic() + deadline_s
    while True:
        count = scene.dlq() - before
        if count >= expected or time.monotonic() >= deadline:
            return count
        time.sleep(0.5)


def exercise(scene: Scene, fault: Fault, *, n: int, rate: float, say: Callable[[str], None] = print) -> Result:
    """Steady load on the scene's stack, the fault at the midpoint, the drain and the audit."""
    stack, settings, amqp_url = scene.stack, scene.settings, scene.amqp_url
    stack.wait_ready(120)
    tag = f"{fault.name}-{uuid.uuid4().hex[:4]}"
    witness = settings.queue(f"{audit.WITNESS}.{tag}")
    asyncio.run(audit.declare_witness(amqp_url, settings.events_exchange, witness))
    restarts_before, dlq_before = stack.restarts(), scene.dlq()
    del scene.notices[:]
    scene.revive.clear()
    started = time.monotonic()
    try:

        async def drive() -> tuple[load.LoadResult, Any, audit.Completion, float, bool]:
            async def inject() -> str:
                return await fault.inject(scene)

            say(f"chaos {fault.name}: {n} requests at {rate:g}/s; {fault.what} after {n // 2}")
            result, injected = await load.steady_load(stack.urls("intake"), tag, n, rate, at_midpoint=inject)
            accepted = list(result.accepted.values())
            done, seconds, drained = await audit.wait_drained(
                stack.url("intake"), stack.url("notify"), stack.url("routing"), accepted, scene.busy, 120
            )
            return result, injected, done, seconds, drained

        loaded, injected, done, drain_s, drained = asyncio.run(drive())
        counts = scene.queue_counts()
        work_queues = [q for q in counts if q.startswith(settings.queue("work.")) and not q.endswith(".dlq")]

        async def read_all() -> tuple[list[Any], list[Any]]:
            seen = await audit.read_queue(amqp_url, witness, delete=True)
            items: list[Any] = []
            for q in work_queues:
                items += await audit.read_queue(amqp_url, q)
            return seen, items

        seen, items = asyncio.run(read_all())
        t = audit.tally(list(loaded.accepted.values()), done, seen, items, tag)
    finally:
        if scene.cluster is not None:
            for name in scene.revive:
                scene.cluster.revive(name)
    say(f"chaos {fault.name}: drained in {drain_s:.0f}s; {time.monotonic() - started:.0f}s in all")
    for line in scene.notices:
        say(f"  {line}")
    stack.wait_ready(120)  # what the fault killed is back before the next fault (and counted as restarted)
    after = stack.restarts()
    result = Result(
        fault=fault.name,
        what=fault.what,
        nodes=len(scene.cluster.nodes) if scene.cluster is not None else 1,
        replicas=stack.replicas,
        requests=n,
        accepted=t.accepted,
        lost=t.lost,
        duplicated=t.duplicated,
        unexpected=t.unexpected,
        server_errors=loaded.server_errors,
        drain_s=round(drain_s, 1),
        load_s=round(loaded.seconds, 1),
        dlq=dead_lettered(scene, dlq_before, POISON_COUNT if fault.name == "poison" else 0),
        drained=drained,
        redelivered=t.redelivered,
        retries=loaded.retries,
        not_accepted=len(loaded.refused),
        injected=str(injected or ""),
        restarts={k: v - restarts_before.get(k, 0) for k, v in after.items() if v != restarts_before.get(k, 0)},
        details={**t.details, "refused": dict(list(loaded.refused.items())[:10])},
    )
    say(
        f"chaos {fault.name}: accepted {result.accepted}/{n} in {result.load_s:.0f}s, lost {result.lost}, "
        f"duplicated {result.duplicated}, unexpected {result.unexpected}, 5xx {result.server_errors}, DLQ {result.dlq}"
    )
    return result


def run_fault(
    fault: Fault,
    *,
    n: int,
    rate: float,
    workdir: Path,
    replicas: int = 1,
    node: PrivateNode | None = None,
    cluster: Cluster | None = None,
    say: Callable[[str], None] = print,
) -> Result:
    """One fault on a fresh stack of its own."""
    scene = open_scene(
        workdir=workdir,
        replicas=max(replicas, fault.replicas),
        engines=dict(fault.engines),
        node=node,
        cluster=cluster,
        say=say,
    )
    try:
        return exercise(scene, fault, n=n, rate=rate, say=say)
    finally:
        close_scene(scene)


def run_on_shared_stacks(
    faults: list[Fault],
    *,
    n: int,
    rate: float,
    workdir: Path,
    replicas: int = 1,
    node: PrivateNode | None = None,
    cluster: Cluster | None = None,
    say: Callable[[str], None] = print,
) -> list[Result]:
    """The faults one after the other on one stack per replica count (quicker: `make test`). Each fault
    has its own requests, witness and audit; the stack is whole again (restarted) before the next."""
    results: dict[str, Result] = {}
    for count in sorted({max(replicas, f.replicas) for f in faults}):
        group = [f for f in faults if max(replicas, f.replicas) == count]
        engines = {k: v for f in group for k, v in f.engines}
        scene = open_scene(workdir=workdir, replicas=count, engines=engines, node=node, cluster=cluster, say=say)
        try:
            for fault in group:
                results[fault.name] = exercise(scene, fault, n=n, rate=rate, say=say)
        finally:
            close_scene(scene)
    return [results[f.name] for f in faults]


COLUMNS = (
    "fault",
    "nodes",
    "replicas",
    "requests",
    "accepted",
    "lost",
    "duplicated",
    "unexpected",
    "5xx",
    "load s",
    "drain s",
    "DLQ",
)


def table(results: list[Result]) -> str:
    rows = [COLUMNS] + [
        (
            r.fault,
            str(r.nodes),
            str(r.replicas),
            str(r.requests),
            str(r.accepted),
            str(r.lost),
            str(r.duplicated),
            str(r.unexpected),
            str(r.server_errors),
            f"{r.load_s:.0f}",
            f"{r.drain_s:.1f}" + ("" if r.drained else " (timed out)"),
            str(r.dlq),
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def as_json(results: list[Result]) -> str:
    return json.dumps([{**asdict(r), "ok": r.ok} for r in results], ensure_ascii=False, indent=2)


def run_suite(
    names: list[str],
    *,
    n: int,
    rate: float,
    workdir: Path,
    nodes: int = 1,
    replicas: int = 1,
    shared: bool = False,
    say: Callable[[str], None] = print,
) -> list[Result]:
    """Start the chaos broker (one private node, or a cluster of `nodes`), run each fault (each on a fresh
    stack, or with `shared` on one stack per replica count), stop the broker."""
    workdir.mkdir(parents=True, exist_ok=True)
    faults = [FAULTS[name] for name in names]
    started = time.monotonic()
    common: dict[str, Any] = {"n": n, "rate": rate, "workdir": workdir, "replicas": replicas, "say": say}
    target: dict[str, Any] = {}
    if nodes > 1:
        say(f"chaos: starting a private cluster of {nodes} RabbitMQ nodes ...")
        cluster = Cluster.create(Path(tempfile.mkdtemp(prefix="huiying-cluster-")), nodes)
        target, close = {"cluster": cluster}, cluster.destroy
    else:
        say("chaos: starting a private RabbitMQ node ...")
        node = make_private_broker()
        target, close = {"node": node}, node.destroy
    try:
        if shared:
            results = run_on_shared_stacks(faults, **common, **target)
        else:
            results = [run_fault(fault, **common, **target) for fault in faults]
    finally:
        close()
    say(f"chaos: {len(results)} fault(s) in {time.monotonic() - started:.0f}s")
    return results
