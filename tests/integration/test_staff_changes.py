"""An account's change holds on every service within seconds: routing bumps the account's token version and
publishes staff.changed; intake and notify keep it in their staff read model and refuse older tokens."""

from __future__ import annotations

import time
from typing import Any

from tests.support import eventually

ADMIN = {"X-Admin-Token": "dev-admin-token"}
PASSWORD = "a-long-enough-password"
REQUEST = {
    "service_code": "property_repair",
    "description": "厨房水管漏水",
    "location": {"address": "3号楼2单元501"},
    "resident": {"name": "王阿姨", "phone": "13800138000", "language": "en"},
}


async def new_account(routing: Any, username: str, role: str, team: str | None = None) -> dict[str, str]:
    body = {"username": username, "password": PASSWORD, "role": role, "team": team}
    r = await routing.post("/v1/staff", json=body, headers=ADMIN)
    assert r.status_code == 201, r.text
    return await sign_in(routing, username)


async def sign_in(routing: Any, username: str, password: str = PASSWORD) -> dict[str, str]:
    r = await routing.post("/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def until_status(call: Any, status: int, what: str) -> float:
    """Seconds until `call()` answers `status` (fails after the deadline)."""
    started = time.monotonic()

    async def probe() -> bool:
        return (await call()).status_code == status

    await eventually(probe, what=what, timeout=10)
    return time.monotonic() - started


async def test_a_disabled_admins_token_fails_on_intake_within_seconds(run_service: Any) -> None:
    async with run_service("routing") as (routing, _), run_service("intake") as (intake, _):
        admin = await new_account(routing, "wu.admin", "admin")
        channels = lambda: intake.get("/v1/admin/channels", headers=admin)  # noqa: E731
        assert (await channels()).status_code == 200

        r = await routing.patch("/v1/staff/wu.admin", json={"active": False}, headers=ADMIN)
        assert r.status_code == 200, r.text
        assert (await routing.get("/v1/auth/me", headers=admin)).status_code == 401  # routing: at once
        seconds = await until_status(channels, 401, "intake to refuse the disabled admin's token")
        assert seconds < 10
        # Nor can the token rotate a channel key.
        assert (await intake.post("/v1/admin/channels/web/rotate", headers=admin)).status_code == 401


async def test_a_demoted_supervisor_cannot_read_another_teams_delivery_log(run_service: Any) -> None:
    async with (
        run_service("intake") as (intake, _),
        run_service("routing") as (routing, _),
        run_service("notify") as (notify, _),
    ):
        chief = await new_account(routing, "zhao.chief", "supervisor")
        r = await intake.post("/v1/requests", json=REQUEST, headers={"X-API-Key": "dev-web-key"})
        assert r.status_code == 201, r.text
        request_id = r.json()["id"]
        log = lambda headers: notify.get("/v1/deliveries", params={"request_id": request_id}, headers=headers)  # noqa: E731
        await until_status(lambda: log(chief), 200, "the supervisor to read the delivery log")

        body = {"role": "member", "team": "legal_aid"}  # the repair is with property maintenance
        assert (await routing.patch("/v1/staff/zhao.chief", json=body, headers=ADMIN)).status_code == 200
        await until_status(lambda: log(chief), 401, "notify to refuse the token issued before the demotion")
        member = await sign_in(routing, "zhao.chief")
        assert (await log(member)).status_code == 404  # another team's request, as a member sees it


async def test_a_password_change_revokes_old_tokens_everywhere(run_service: Any) -> None:
    async with (
        run_service("intake") as (intake, _),
        run_service("routing") as (routing, _),
        run_service("notify") as (notify, _),
    ):
        old = await new_account(routing, "qian.admin", "admin")
        on_intake = lambda headers: intake.get("/v1/admin/channels", headers=headers)  # noqa: E731
        on_notify = lambda headers: notify.get("/v1/deliveries", params={"request_id": "r0"}, headers=headers)  # noqa: E731
        assert (await on_intake(old)).status_code == 200
        assert (await on_notify(old)).status_code == 404  # signed in; no such request

        body = {"current_password": PASSWORD, "new_password": "another-long-password"}
        assert (await routing.post("/v1/auth/password", json=body, headers=old)).status_code == 204
        assert (await routing.get("/v1/auth/me", headers=old)).status_code == 401
        await until_status(lambda: on_intake(old), 401, "intake to refuse the token issued before")
        await until_status(lambda: on_notify(old), 401, "notify to refuse the token issued before")

        new = await sign_in(routing, "qian.admin", "another-long-password")
        assert (await routing.get("/v1/auth/me", headers=new)).status_code == 200
        assert (await on_intake(new)).status_code == 200
        assert (await on_notify(new)).status_code == 404
