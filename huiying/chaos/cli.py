"""`huiying chaos`: the command line of the chaos suite.

huiying chaos                         every one-node fault, 200 requests each at 20/s
huiying chaos -n 1000 --rate 25       what `make chaos` runs (1,000 requests per fault)
huiying chaos --nodes 3               the cluster faults on a private three-node cluster
huiying chaos --replicas 3            3 of each service; "replica-killed" kills one of each
huiying chaos --fault kill-routing --fault poison --json
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from huiying.chaos.faults import FAULTS, ONE_NODE, THREE_NODES


def add_parser(sub: Any, positive: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        "chaos", help="inject faults under load on a private RabbitMQ node (or three) and count what was lost"
    )
    parser.add_argument("-n", "--requests", type=positive(), default=200, help="requests per fault (default 200)")
    parser.add_argument("--rate", type=positive(float), default=20.0, help="requests per second (default 20)")
    parser.add_argument(
        "--fault",
        action="append",
        choices=sorted(FAULTS),
        metavar="FAULT",
        help=f"run only this fault (repeatable): {', '.join(FAULTS)}",
    )
    parser.add_argument("--nodes", type=int, choices=(1, 3), default=1, help="1 private node, or a 3-node cluster")
    parser.add_argument("--replicas", type=positive(), default=1, help="replicas of each service (default 1)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--shared-stack",
        action="store_true",
        help="run the faults one after the other on one stack (quicker; default: a fresh stack per fault)",
    )
    parser.add_argument("--workdir", default=None, help="logs and data of the runs (default: a temporary directory)")
    return parser


def main(args: argparse.Namespace) -> int:
    from huiying.chaos.run import as_json, run_suite, table
    from huiying.cluster import BrokerError, available
    from huiying.stack import StackError

    if not available():
        print("huiying chaos: needs rabbitmq-server (apt-get install rabbitmq-server)", file=sys.stderr)
        return 2
    names = args.fault or (THREE_NODES if args.nodes > 1 else ONE_NODE)
    wrong = [n for n in names if FAULTS[n].cluster != (args.nodes > 1)]
    if wrong:
        need = "--nodes 3" if args.nodes == 1 else "--nodes 1"
        print(f"huiying chaos: {', '.join(wrong)} needs {need}", file=sys.stderr)
        return 2
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="huiying-chaos-"))
    say = (lambda line: print(line, file=sys.stderr, flush=True)) if args.json else print
    try:
        results = run_suite(
            names,
            n=args.requests,
            rate=args.rate,
            workdir=workdir,
            nodes=args.nodes,
            replicas=args.replicas,
            shared=args.shared_stack,
            say=say,
        )
    except (BrokerError, StackError) as exc:
        print(f"huiying chaos: {exc} (logs under {workdir})", file=sys.stderr)
        return 1
    if args.json:
        print(as_json(results))
    else:
        print()
        print(table(results))
        for r in results:
            if not r.ok:
                print(f"\n{r.fault}: {r.details}")
        print(f"\nlogs: {workdir}")
    return 0 if all(r.ok for r in results) else 1
