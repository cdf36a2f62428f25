"""An embedded MongoDB-wire server (mongoeco) for one service: SQLite on disk, or in memory.

Run as its own process (`huiying mongo ...`). It prints one line `READY <mongodb uri>` on stdout once it
accepts connections, and stops cleanly (closing SQLite) on SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import gc
import signal
import sys
from pathlib import Path
from typing import Any


def _freeze_survivors(phase: str, info: dict[str, Any]) -> None:
    if phase == "stop" and info.get("generation") == 2:
        gc.freeze()


def keep_full_collections_short() -> None:
    """The memory engine holds every stored document as Python objects (2 GB for 50,000 requests), and each of
    CPython's full cyclic collections walks all of them, so their cost grows with the data and lands on whichever
    request is being served. After each full collection, the objects that survived it (the stored documents,
    mostly) are moved to the permanent generation (`gc.freeze`), so the next full collection walks only what was
    created since. A stored document is a tree of dicts and lists that reference counting frees when it is
    replaced or deleted; only a reference cycle that dies after its freeze would be kept."""
    if _freeze_survivors not in gc.callbacks:
        gc.callbacks.append(_freeze_survivors)


async def serve(engine: str, path: Path | None, host: str, port: int) -> None:
    from huiying.mongoeco_patch import apply

    # Targeted corrections to mongoeco's write costs, pinned to the version they fix (huiying/mongoeco_patch.py).
    print(apply(), file=sys.stderr, flush=True)
    keep_full_collections_short()
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
