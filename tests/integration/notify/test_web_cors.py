"""The resident portal's browser (intake's origin) reads notify's inbox: CORS for the configured origins only,
GET only, no credentials; and `allow_empty` for a page that asks before the first message exists."""

from __future__ import annotations

from typing import Any

from tests.integration.notify.conftest import FAST
from tests.support import PROD_SECRETS, eventually
from tests.unit.notify.events import submitted

PORTAL = "http://127.0.0.1:8001"  # intake's public URL by default


async def test_the_inbox_is_readable_from_intakes_origin_only(run_service: Any, publish: Any) -> None:
    async with run_service("notify", **FAST) as (notify, _):
        await publish(submitted("r1", "HY0000000001"))

        async def inbox() -> Any:
            r = await notify.get("/v1/inbox/HY0000000001", headers={"Origin": PORTAL})
            return r if r.status_code == 200 and r.json()["messages"] else None

        r = await eventually(inbox, timeout=30, what="the receipt in the inbox")
        assert r.headers["access-control-allow-origin"] == PORTAL
        assert "access-control-allow-credentials" not in r.headers

        localhost = await notify.get("/v1/inbox/HY0000000001", headers={"Origin": "http://localhost:8001"})
        assert localhost.headers["access-control-allow-origin"] == "http://localhost:8001"  # dev mode's twin
        stranger = await notify.get("/v1/inbox/HY0000000001", headers={"Origin": "https://evil.example"})
        assert stranger.status_code == 200 and "access-control-allow-origin" not in stranger.headers

        preflight = {"Origin": PORTAL, "Access-Control-Request-Method": "GET"}
        ok = await notify.options("/v1/inbox/HY0000000001", headers=preflight)
        assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == PORTAL
        post = await notify.options(
            "/v1/inbox/HY0000000001", headers={**preflight, "Access-Control-Request-Method": "POST"}
        )
        assert post.status_code == 400  # only reads are allowed across origins
        # The staff delivery log needs a bearer token: a browser on another origin may not send one.
        auth = await notify.options(
            "/v1/deliveries", headers={**preflight, "Access-Control-Request-Headers": "authorization"}
        )
        assert auth.status_code == 400


async def test_configured_origins_replace_the_default(run_service: Any) -> None:
    origins = "https://portal.example, https://kiosk.example/"
    async with run_service("notify", notify_cors_origins=origins, mode="prod", **PROD_SECRETS, **FAST) as (notify, _):
        for origin in ("https://portal.example", "https://kiosk.example"):
            r = await notify.get("/v1/inbox/HY0000000001?allow_empty=true", headers={"Origin": origin})
            assert r.headers["access-control-allow-origin"] == origin
        r = await notify.get("/v1/inbox/HY0000000001?allow_empty=true", headers={"Origin": PORTAL})
        assert "access-control-allow-origin" not in r.headers


async def test_allow_empty_answers_no_messages_instead_of_404(run_service: Any) -> None:
    async with run_service("notify", **FAST) as (notify, _):
        assert (await notify.get("/v1/inbox/HY0000000009")).status_code == 404  # the documented answer stays
        r = await notify.get("/v1/inbox/hy00-0000-0009", params={"allow_empty": "true"})
        assert r.status_code == 200 and r.json() == {"tracking_code": "HY0000000009", "messages": []}
        malformed = await notify.get("/v1/inbox/nonsense", params={"allow_empty": "true"})
        assert malformed.status_code == 404  # no such code can exist
