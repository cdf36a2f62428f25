"""An embedded MongoDB-wire server (mongoeco) for one service: SQLite on disk, or in memory.

Run as its own process (`huiying mongo ...`). It prints one line `READY <mongodb uri>` on stdout once it
accepts connections, and stops cleanly (closing SQLite) on SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path


async def serve(engine: str, path: Path | None, host: str, port: int) -> None:
    from huiying.mongoeco_patch import apply

    # Targeted corrections to mongoeco's write costs, pinned to the version they fix (huiying/mongoeco_patch.py).
    print(apply(), file=sys.stderr, flush=True)
    from mongoeco.engines.memory import MemoryEngine
    from mongoeco.engines.sqlite import SQLiteEngine
    from mongoeco.wire.proxy import AsyncMongoEcoProxyServer

    storage: SQLiteEngine | MemoryEngine
    if engine == "sqlite":
        if path is None:
            raise SystemExit("--path is required for the sqlite engine")
        path.parent.mkdir(parents=True, exist_ok=True)
        storage = SQLiteEngine(str(path), executor_workers=1)
    else:
        storage = MemoryEngine()
    proxy = AsyncMongoEcoProxyServer(engine=storage, host=host, port=port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await proxy.start()
    print(f"READY {proxy.address.uri}", flush=True)
    try:
        await stop.wait()
    finally:
        await proxy.close()


def main(engine: str, path: str | None, host: str, port: int) -> None:
    try:
        asyncio.run(serve(engine, Path(path) if path else None, host, port))
    except OSError as exc:
        print(f"embedded MongoDB could not start on {host}:{port}: {exc}", file=sys.stderr)
        raise SystemExit(1) from exc
