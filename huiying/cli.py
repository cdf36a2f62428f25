"""`huiying` — the command line.

huiying run                 the whole stack in the foreground (what `make run` does)
huiying serve SERVICE       one service (intake|routing|notify), e.g. one replica of several
huiying mongo ...           one embedded MongoDB-wire server (used by `run`)
huiying bench               submit N requests and print throughput and latency figures
huiying schemas [--check]   write (or check) the event JSON Schemas and the AsyncAPI document
huiying dlq QUEUE [--replay] show (or move back) what is in a queue's dead-letter queue
huiying chaos               inject faults under load on a private RabbitMQ node (or three) and count
huiying doctor [--fix]      check (and with --fix install) what the tests and `make run` need
huiying cluster ...         a local three-node RabbitMQ cluster (start, kill a node, status, stop)
huiying topology ACTION     show | apply | migrate | definitions [--check]: the event topology and its policies
huiying triage-eval         emergency triage's recall and false-referral rate on a labelled corpus

Operator mistakes get one line on stderr and a non-zero exit code, never a traceback
(HUIYING_DEBUG=1 shows the traceback of an unexpected error).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
from pathlib import Path

from pydantic import ValidationError

from shared.settings import SERVICES, Settings

SERVICE_SETTINGS = {
    "intake": "services.intake.config:IntakeSettings",
    "routing": "services.routing.config:RoutingSettings",
    "notify": "services.notify.config:NotifySettings",
}


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        print(f"huiying: bad configuration: {first['msg']}", file=sys.stderr)
        raise SystemExit(2) from exc


async def _preflight(settings: Settings, service: str) -> None:
    from huiying.stack import quiet_client_libraries
    from shared.bus import BrokerUnavailable, Bus
    from shared.mongo import DatabaseUnavailable, make_client, wait_for_database

    quiet_client_libraries()
    client = None
    try:
        client = make_client(settings.mongodb_uri(service), service=service, timeout_ms=settings.mongodb_timeout_ms)
        await wait_for_database(client, service=service, uri=settings.mongodb_uri(service) or "", deadline_s=30)
        bus = Bus(settings, producer=service)
        await bus.connect()
        await bus.close()
    except (BrokerUnavailable, DatabaseUnavailable) as exc:
        print(f"huiying {service}: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    finally:
        if client is not None:
            await client.close()


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = _settings()
    module_name, class_name = SERVICE_SETTINGS[args.service].split(":")
    service_settings_cls = getattr(importlib.import_module(module_name), class_name)
    try:
        service_settings = service_settings_cls()
    except ValidationError as exc:
        print(f"huiying {args.service}: bad configuration: {exc.errors()[0]['msg']}", file=sys.stderr)
        return 2
    asyncio.run(_preflight(service_settings, args.service))
    port = args.port or settings.port(args.service)
    uvicorn.run(
        f"services.{args.service}.app:create_app",
        factory=True,
        host=args.host or settings.host,
        port=port,
        log_config=None,
        access_log=False,
        # X-Forwarded-For/-Proto only from HUIYING_TRUSTED_PROXIES (anyone else's is ignored, so rotating it
        # does not escape a per-address limit); shared/limits.client_address applies the same rule.
        proxy_headers=bool(service_settings.trusted_proxies.strip()),
        forwarded_allow_ips=service_settings.trusted_proxies.strip() or None,
        timeout_graceful_shutdown=10,
    )
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from huiying.stack import run_foreground

    return run_foreground(_settings(), replicas=args.replicas)


def cmd_mongo(args: argparse.Namespace) -> int:
    from huiying import embedded

    embedded.main(args.engine, args.path, args.host, args.port)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from huiying import bench

    return bench.main(args)


def cmd_schemas(args: argparse.Namespace) -> int:
    from huiying import schemas

    return schemas.main(check=args.check, out=args.out)


def cmd_dlq(args: argparse.Namespace) -> int:
    from huiying import dlq

    return asyncio.run(dlq.main(_settings(), args.queue, replay=args.replay, limit=args.limit))


def cmd_chaos(args: argparse.Namespace) -> int:
    from huiying.chaos import cli as chaos_cli

    return chaos_cli.main(args)


def cmd_doctor(args: argparse.Namespace) -> int:
    import huiying.doctor as doctor

    return doctor.main(fix=args.fix)


def cmd_cluster(args: argparse.Namespace) -> int:
    from huiying import cluster

    return cluster.main(args)


def cmd_topology(args: argparse.Namespace) -> int:
    from huiying import topology

    return topology.main(_settings(), args.action, check=args.check, out=args.out)


def cmd_triage_eval(args: argparse.Namespace) -> int:
    from huiying import triage_eval

    return triage_eval.run(args.corpus, args.rules)


def positive(kind: type[int] | type[float] = int) -> argparse._ActionType:
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be greater than 0, not {text}")
        return value

    return parse


class OneLineParser(argparse.ArgumentParser):
    """argparse's usage errors in one line: `huiying bench: argument -n/--requests: must be ... (see --help)`."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="huiying", description="Huiying (回应) community service desk")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    run = sub.add_parser("run", help="run the whole stack in the foreground")
    run.add_argument(
        "--replicas", type=positive(), default=1, help="N of each service; replica k listens on port + 100*k"
    )
    run.set_defaults(func=cmd_run)

    serve = sub.add_parser("serve", help="run one service")
    serve.add_argument("service", choices=SERVICES)
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None, help="default: HUIYING_<SERVICE>_PORT")
    serve.set_defaults(func=cmd_serve)

    mongo = sub.add_parser("mongo", help="run one embedded MongoDB-wire server (mongoeco)")
    mongo.add_argument("--engine", choices=["sqlite", "memory"], default="sqlite")
    mongo.add_argument("--path", default=None, help="SQLite file (sqlite engine)")
    mongo.add_argument("--host", default="127.0.0.1")
    mongo.add_argument("--port", type=int, default=0, help="0 picks a free port")
    mongo.set_defaults(func=cmd_mongo)

    bench = sub.add_parser("bench", help="submit N requests and print figures")
    bench.add_argument("-n", "--requests", type=positive(), default=500)
    bench.add_argument("-c", "--concurrency", type=positive(), default=50)
    bench.add_argument("--spawn", action="store_true", help="start a private stack (fresh data) and bench it")
    bench.add_argument("--engine", choices=["sqlite", "memory"], default="sqlite", help="with --spawn")
    bench.add_argument("--intake-url", default="http://127.0.0.1:8001")
    bench.add_argument("--routing-url", default="http://127.0.0.1:8002")
    bench.add_argument("--notify-url", default="http://127.0.0.1:8003")
    bench.add_argument("--rate", type=float, default=None, help="a steady load of R requests/s (open model)")
    bench.add_argument(
        "--soak", type=int, default=None, help="fill N requests and print CPU per request at 1k, 10k, ..."
    )
    bench.add_argument(
        "--soak-fill",
        choices=["clone", "journeys"],
        default="clone",
        help="with --soak: fill with copies of real journeys' documents (fast) or with real journeys",
    )
    bench.add_argument("--json", default=None, metavar="FILE", help="also write the figures as one JSON object")
    bench.add_argument("--api-key", default="dev-web-key")
    bench.add_argument("--timeout", type=positive(float), default=600.0, help="seconds to wait for every inbox")
    bench.set_defaults(func=cmd_bench)

    schemas = sub.add_parser("schemas", help="write the event JSON Schemas and AsyncAPI document")
    schemas.add_argument("--check", action="store_true", help="fail if the committed files are stale")
    schemas.add_argument("--out", default="docs/events")
    schemas.set_defaults(func=cmd_schemas)

    dlq = sub.add_parser("dlq", help="inspect or replay a dead-letter queue")
    dlq.add_argument("queue", help="the consumer queue, e.g. routing.request-events")
    dlq.add_argument("--replay", action="store_true", help="move the messages back to the queue")
    dlq.add_argument("--limit", type=positive(), default=100)
    dlq.set_defaults(func=cmd_dlq)

    from huiying.chaos.cli import add_parser as add_chaos
    from huiying.cluster import add_parser as add_cluster

    add_chaos(sub, positive).set_defaults(func=cmd_chaos)
    add_cluster(sub).set_defaults(func=cmd_cluster)
    doctor = sub.add_parser("doctor", help="check what the tests and `make run` need (chromium, a CJK font, RabbitMQ)")
    doctor.add_argument("--fix", action="store_true", help="start RabbitMQ; as root, apt-get install what is missing")
    doctor.set_defaults(func=cmd_doctor)

    topology = sub.add_parser("topology", help="show, apply or migrate the event topology; write its definitions")
    topology.add_argument("action", choices=["show", "apply", "migrate", "definitions"])
    topology.add_argument("--check", action="store_true", help="definitions: fail if the committed file is stale")
    topology.add_argument("--out", default=None, help="definitions: where to write (deploy/rabbitmq/definitions.json)")
    topology.set_defaults(func=cmd_topology)

    evaluate = sub.add_parser("triage-eval", help="emergency triage's recall and false-referral rate on a corpus")
    evaluate.add_argument(
        "--corpus", type=Path, help="labelled phrases (default: the tuning corpus in tests/unit/intake)"
    )
    evaluate.add_argument("--rules", type=Path, help="emergency rules (default: deploy/intake/emergency.yaml)")
    evaluate.set_defaults(func=cmd_triage_eval)

    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # a usage mistake (one line already printed) or --help: its exit code
        return exc.code if isinstance(exc.code, int) else 2
    try:
        result: int = args.func(args)
    except KeyboardInterrupt:
        print(f"huiying {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("HUIYING_DEBUG"):
            raise
        # The safety net: a mistake or an outage the command did not foresee is still one line.
        print(
            f"huiying {args.command}: {type(exc).__name__}: {(str(exc) or '-').splitlines()[0]}",
            file=sys.stderr,
        )
        return 1
    return result


if __name__ == "__main__":
    raise SystemExit(main())
