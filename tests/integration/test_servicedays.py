"""Service days (便民服务日) through the three real apps in one process, the real broker and the embedded
MongoDB: a day planned in routing appears in intake's list; sign-ups up to capacity and then a clear
refusal (20 at once for 5 places: exactly 5); the day-before reminder reaches notify's inbox once, with
two intake replicas passing; attendance is counted in routing's ledger."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.support import eventually

SH = ZoneInfo("Asia/Shanghai")
# Monday 2026-12-07, 09:00 in Shanghai; the day is Tuesday 2026-12-08 (a "二·八" day), 08:30-11:30.
MONDAY_9AM = datetime(2026, 12, 7, 9, 0, tzinfo=SH).astimezone(UTC)
KEY = {"X-API-Key": "dev-web-key"}


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def programme(places: int = 5) -> dict[str, Any]:
    return {
        "title": {"zh-CN": "二·八便民服务日", "en": "Service day"},
        "date": "2026-12-08",
        "starts": "08:30",
        "ends": "11:30",
        "place": {"zh-CN": "社区广场", "en": "Community square"},
        "services": [{"code": "haircut", "places": places}, {"code": "blood_pressure", "places": 50}],
    }


async def login(routing: Any, username: str) -> dict[str, str]:
    r = await routing.post("/v1/auth/login", json={"username": username, "password": "dev-password"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def test_a_day_from_plan_to_ledger(run_service: Any) -> None:
    clock = Clock(MONDAY_9AM)
    fast = {"servicedays_remind_interval_s": 0.2}
    async with (
        run_service("routing", clock=clock) as (routing, _),
        run_service("intake", clock=clock, **fast) as (intake, app1),
        run_service("intake", clock=clock, **fast) as (intake2, app2),  # a second replica passes too
        run_service("notify", clock=clock) as (notify, _),
    ):
        lead = await login(routing, "community_work_group.lead")
        member = await login(routing, "community_work_group.member")
        other = await login(routing, "legal_aid.lead")

        # A member cannot plan; a lead plans for their own team.
        assert (await routing.post("/v1/servicedays", json=programme(), headers=member)).status_code == 403
        bad = {**programme(), "ends": "08:00"}
        r = await routing.post("/v1/servicedays", json=bad, headers=lead)
        assert r.status_code == 422 and "ends" in r.text
        r = await routing.post("/v1/servicedays", json=programme(), headers=lead)
        assert r.status_code == 201, r.text
        day_id = r.json()["day_id"]
        assert r.json()["team"] == "community_work_group"

        # It appears in intake's list (routing's event -> intake's read model).
        async def listed() -> Any:
            days = (await intake.get("/v1/servicedays")).json()["days"]
            return next((d for d in days if d["day_id"] == day_id), None)

        day = await eventually(listed, what="the day in intake's list")
        assert day["open"] and {s["code"]: s["places_left"] for s in day["services"]} == {
            "haircut": 5,
            "blood_pressure": 50,
        }

        # 20 residents at once for 5 haircut places, through both replicas: exactly 5 get one.
        async def sign(i: int) -> Any:
            body = {"name": f"居民{i}", "phone": f"1380013{i:04d}", "services": ["haircut"]}
            client = intake if i % 2 else intake2
            return await client.post(f"/v1/servicedays/{day_id}/signups", json=body, headers=KEY)

        answers = await asyncio.gather(*(sign(i) for i in range(20)))
        assert sorted(r.status_code for r in answers) == [201] * 5 + [409] * 15, [r.text for r in answers]
        refused = next(r for r in answers if r.status_code == 409).json()
        assert "no places left for haircut" in refused["message"]
        codes = [r.json()["code"] for r in answers if r.status_code == 201]
        day = (await intake.get(f"/v1/servicedays/{day_id}")).json()
        assert {s["code"]: s["places_left"] for s in day["services"]}["haircut"] == 0

        # The same phone twice: refused, naming what to do.
        r = await intake.post(
            f"/v1/servicedays/{day_id}/signups",
            json={"name": "血压", "phone": "13900139000", "services": ["blood_pressure"]},
            headers=KEY,
        )
        assert r.status_code == 201
        r = await intake.post(
            f"/v1/servicedays/{day_id}/signups",
            json={"name": "血压", "phone": "13900139000", "services": ["blood_pressure"]},
            headers=KEY,
        )
        assert r.status_code == 409 and "already signed up" in r.json()["message"]
        # A wrong service: 422 naming the field.
        r = await intake.post(
            f"/v1/servicedays/{day_id}/signups",
            json={"name": "甲", "phone": "13900139001", "services": ["massage"]},
            headers=KEY,
        )
        assert r.status_code == 422 and r.json()["fields"][0]["field"] == "services"

        # One resident cancels with the code: the place is free again.
        r = await intake.post(f"/v1/signups/{codes[0]}/cancel")
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        day = (await intake.get(f"/v1/servicedays/{day_id}")).json()
        assert {s["code"]: s["places_left"] for s in day["services"]}["haircut"] == 1

        # Routing's attendance list fills from intake's events (masked phones only).
        async def attendance_list() -> Any:
            r = await routing.get(f"/v1/servicedays/{day_id}", headers=lead)
            signups = r.json()["signups"]
            states = {s["code"]: s["status"] for s in signups}
            return signups if len(signups) == 6 and states.get(codes[0]) == "cancelled" else None

        signups = await eventually(attendance_list, what="routing's attendance list")
        assert all("****" in s["phone_masked"] for s in signups)
        assert (await routing.get(f"/v1/servicedays/{day_id}", headers=other)).status_code == 404

        # The day before at 10:00: the reminder reaches each active sign-up's inbox once, though two replicas pass.
        clock.now = MONDAY_9AM + timedelta(hours=1, minutes=5)

        async def reminded(code: str) -> Any:
            r = await notify.get(f"/v1/inbox/{code}")
            if r.status_code != 200:
                return None
            types = [m["event_type"] for m in r.json()["messages"]]
            return types if "signup.reminder" in types else None

        for code in codes[1:]:
            types = await eventually(lambda code=code: reminded(code), what=f"the reminder for {code}")
            assert types == ["signup.made", "signup.reminder"]
        # Further passes of both replicas add nothing.
        loops = [next(x for x in a.state.container.loops if x.name == "servicedays-reminders") for a in (app1, app2)]
        marks = [x.passes + 2 for x in loops]
        await eventually(lambda: all(x.passes >= m for x, m in zip(loops, marks, strict=True)), what="more passes")
        for code in codes[1:]:
            types = [m["event_type"] for m in (await notify.get(f"/v1/inbox/{code}")).json()["messages"]]
            assert types.count("signup.reminder") == 1
        cancelled = [m["event_type"] for m in (await notify.get(f"/v1/inbox/{codes[0]}")).json()["messages"]]
        assert cancelled == ["signup.made", "signup.cancelled"]
        message = (await notify.get(f"/v1/inbox/{codes[1]}")).json()["messages"][1]
        assert "明天" in message["subject"] and "社区广场" in message["body"]

        # On the day: staff tick two residents as attended; the ledger counts them.
        clock.now = datetime(2026, 12, 8, 9, 0, tzinfo=SH).astimezone(UTC)
        for code in codes[1:3]:
            r = await routing.post(f"/v1/servicedays/{day_id}/attendance", json={"code": code}, headers=member)
            assert r.status_code == 200, r.text
        ledger = (await routing.get("/v1/ledger/servicedays", params={"from": "2026-12-01"}, headers=lead)).json()
        row = next(d for d in ledger["days"] if d["day_id"] == day_id)
        assert (row["signups"], row["cancelled"], row["attended"]) == (5, 1, 2)
        assert row["by_service"]["haircut"] == {"places": 5, "signups": 4, "attended": 2}
        assert ledger["by_service"]["blood_pressure"]["signups"] == 1
