"""Sign-in throttling (per account and per address, before any password hash), the lockout, and routing's
front-door limits: body size, requests per address, bounded lists."""

from __future__ import annotations

from typing import Any

import pytest

import services.routing.api.auth as auth_api
import services.routing.web.pages as console_pages

WRONG = {"username": "admin", "password": "not-the-password"}
# Long windows: a test that straddled a window's end would see its counts start again.
HOUR = {"rate_limit_window_s": 3600, "routing_lockout_s": 3600}


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password check the sign-in paths make (each one is an argon2 hash)."""
    seen: list[str] = []
    real = auth_api.verify_password

    async def counting(password_hash: str | None, password: str) -> bool:
        seen.append(password)
        return await real(password_hash, password)

    monkeypatch.setattr(auth_api, "verify_password", counting)
    monkeypatch.setattr(console_pages, "verify_password", counting)
    return seen


async def test_sign_in_is_throttled_per_account_before_any_hash(run_service: Any, hashes: list[str]) -> None:
    async with run_service("routing", **HOUR, routing_login_per_account=3, routing_lockout_failures=0) as (routing, _):
        for _ in range(3):
            assert (await routing.post("/v1/auth/login", json=WRONG)).status_code == 401
        r = await routing.post("/v1/auth/login", json=WRONG)
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        assert "this account" in r.json()["message"]
        assert len(hashes) == 3  # the refused attempt cost no hash
        # The console shares the count: its form is refused too, with the same header.
        form = {"username": "admin", "password": "dev-password", "csrf": "", "next": "/console/"}
        page = await routing.post("/console/login", data=form)
        assert page.status_code == 429 and page.headers["Retry-After"] and len(hashes) == 3
        # Another account is not affected.
        assert (await routing.post("/v1/auth/login", json={**WRONG, "username": "supervisor"})).status_code == 401
        metrics = (await routing.get("/metrics")).text
        assert 'huiying_routing_signin_failures_total{where="api"}' in metrics
        assert 'huiying_routing_signin_throttled_total{reason="rate",where="api"}' in metrics


async def test_repeated_wrong_passwords_lock_the_account_even_for_the_right_one(run_service: Any) -> None:
    async with run_service("routing", **HOUR, routing_lockout_failures=3) as (routing, _):
        for _ in range(3):
            assert (await routing.post("/v1/auth/login", json=WRONG)).status_code == 401
        right = await routing.post("/v1/auth/login", json={"username": "admin", "password": "dev-password"})
        assert right.status_code == 429 and "locked" in right.json()["message"]
        assert 0 < int(right.headers["Retry-After"]) <= 3600


async def test_per_address_limit_holds_however_x_forwarded_for_rotates(run_service: Any, hashes: list[str]) -> None:
    async with run_service("routing", **HOUR, routing_login_per_address=4, routing_lockout_failures=0) as (routing, _):
        for n in range(4):
            body = {"username": f"nobody{n}", "password": "x"}
            r = await routing.post("/v1/auth/login", json=body, headers={"X-Forwarded-For": f"203.0.113.{n}"})
            assert r.status_code == 401
        r = await routing.post(
            "/v1/auth/login", json={"username": "nobody9", "password": "x"}, headers={"X-Forwarded-For": "198.51.100.7"}
        )
        assert r.status_code == 429 and "this address" in r.json()["message"] and len(hashes) == 4


async def test_trusted_proxy_forwards_the_client_address(run_service: Any) -> None:
    # The test client connects from 127.0.0.1: as a trusted proxy, its X-Forwarded-For names the client.
    settings = {"routing_login_per_address": 2, "routing_lockout_failures": 0, "trusted_proxies": "127.0.0.1/32"}
    async with run_service("routing", **HOUR, **settings) as (routing, _):
        for client in ("203.0.113.1", "203.0.113.1", "203.0.113.2", "203.0.113.2"):
            r = await routing.post(
                "/v1/auth/login", json=WRONG | {"username": client}, headers={"X-Forwarded-For": client}
            )
            assert r.status_code == 401
        r = await routing.post("/v1/auth/login", json=WRONG, headers={"X-Forwarded-For": "203.0.113.1"})
        assert r.status_code == 429


async def test_routing_limits_body_size_request_rate_and_list_lengths(run_service: Any) -> None:
    async with run_service("routing", **HOUR, max_body_bytes=64 * 1024, rate_limit_per_address=12) as (routing, _):
        login = await routing.post("/v1/auth/login", json={"username": "supervisor", "password": "dev-password"})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        big = await routing.post("/v1/rules/preview", content=b"{" + b" " * 100_000 + b"}", headers=headers)
        assert big.status_code == 413
        preview = {"service_code": "property_repair", "attributes": {f"q{n}": "x" for n in range(51)}}
        r = await routing.post("/v1/rules/preview", json=preview, headers=headers)
        assert r.status_code == 422 and "attributes" in r.json()["message"]
        choices = {"service_code": "property_repair", "attributes": {"q": ["x"] * 21}}
        r = await routing.post("/v1/rules/preview", json=choices, headers=headers)
        assert r.status_code == 422 and "attributes" in r.json()["message"]
        answers = [(await routing.get("/v1/teams")).status_code for _ in range(8)]
        assert answers == [200] * 8  # with the 4 requests above: 12 allowed in the window
        limited = await routing.get("/v1/teams")
        assert limited.status_code == 429 and limited.headers["Retry-After"]
        assert (await routing.get("/healthz")).status_code == 200  # ops paths are not counted
