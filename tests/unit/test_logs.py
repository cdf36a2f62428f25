"""Logs are JSON lines carrying the request's correlation id, with phone numbers masked."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
import structlog
from fastapi import FastAPI

from shared.http import install_common
from shared.logs import configure_logging


async def test_request_logs_carry_the_correlation_id_and_no_whole_phone(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("intake", "INFO", json=True)
    app = FastAPI()

    async def ready(_request: object) -> dict[str, bool]:
        return {"database": True, "broker": True}

    install_common(app, "intake", ready)  # type: ignore[arg-type]

    @app.get("/hello")
    async def hello() -> dict[str, str]:
        structlog.get_logger("test").info("called back", phone="13912345678", note="ring 13912345678")
        return {"ok": "yes"}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as client:
        r = await client.get("/hello", headers={"X-Correlation-ID": "req-42"})
    assert r.headers["x-correlation-id"] == "req-42"
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    [entry] = [line for line in lines if line.get("event") == "called back"]
    assert entry["correlation_id"] == "req-42" and entry["service"] == "intake" and entry["level"] == "info"
    assert "13912345678" not in json.dumps(entry) and entry["phone"] == "139****5678"
    logging.getLogger().handlers.clear()
