"""The delivery log masks a phone the one documented way (`138****8000`), however the number was written,
and notify's list endpoints refuse query parameters they do not support."""

from __future__ import annotations

from typing import Any

from tests.integration.notify.conftest import FAST, deliveries
from tests.support import eventually
from tests.unit.notify.events import submitted


async def test_phones_are_masked_as_documented_whatever_their_prefix(
    run_service: Any, publish: Any, token: Any
) -> None:
    async with run_service("notify", **FAST) as (notify, _):
        for n, phone in enumerate(("13800138000", "+86 138 0013 8000", "008613800138000", "86-138-0013-8000")):
            await publish(submitted(f"m{n}", f"HY00000000{n:02d}", phone=phone, preferred="sms"))
        supervisor = token("supervisor")
        for n in range(4):
            rows = await eventually(lambda n=n: deliveries(notify, f"m{n}", supervisor), what=f"m{n}'s deliveries")
            [sms] = [d for d in rows if d["channel"] == "sms"]
            assert sms["address"] == "138****8000", sms


async def test_unknown_query_parameters_are_refused_naming_them(run_service: Any, token: Any) -> None:
    async with run_service("notify", **FAST) as (notify, _):
        headers = {"Authorization": f"Bearer {token('supervisor')}"}
        r = await notify.get("/v1/deliveries", params={"request_id": "r1", "channel": "sms"}, headers=headers)
        assert r.status_code == 400 and "unsupported query parameter(s): channel" in r.text, r.text
        r = await notify.get("/v1/inbox/HY0000000001", params={"since": "2026-01-01"})
        assert r.status_code == 400 and "since" in r.text, r.text
