"""Channels: the admin API (admin JWT or X-Admin-Token), keys stored hashed, rotation, disabling, and
requests filed on a resident's behalf."""

from __future__ import annotations

import hashlib
from typing import Any

from tests.integration.intake.conftest import ADMIN, REQUEST, staff_token
from tests.support import PROD_SECRETS, eventually

HOTLINE = {"id": "hotline", "name": "12345 热线坐席", "kind": "hotline", "webhook_url": "https://hotline.example/hook"}


async def test_admin_api_needs_an_admin(run_service: Any) -> None:
    async with run_service("intake") as (client, app):
        assert (await client.get("/v1/admin/channels")).status_code == 401
        assert (await client.get("/v1/admin/channels", headers={"X-Admin-Token": "guess"})).status_code == 403
        member = {"Authorization": f"Bearer {staff_token(app, 'member')}"}
        r = await client.get("/v1/admin/channels", headers=member)
        assert r.status_code == 403 and "admin" in r.json()["message"]
        assert (await client.get("/v1/admin/channels", headers={"Authorization": "Bearer junk"})).status_code == 401
        admin = {"Authorization": f"Bearer {staff_token(app, 'admin', 'root')}"}
        listed = await client.get("/v1/admin/channels", headers=admin)
        assert listed.status_code == 200
        # dev mode seeds the web channel; every mode has the resident portal's own channel (no usable key)
        assert [c["id"] for c in listed.json()["channels"]] == ["portal", "web"]
        created = await client.post("/v1/admin/channels", json=HOTLINE, headers=admin)
        assert created.status_code == 201 and created.json()["updated_by"] == "root"


async def test_create_rotate_disable_enable(run_service: Any, listen: Any) -> None:
    async with run_service("intake") as (client, app), listen(app) as heard:
        r = await client.post("/v1/admin/channels", json=HOTLINE, headers=ADMIN)
        assert r.status_code == 201, r.text
        channel = r.json()
        key = channel["api_key"]
        assert key.startswith("hy_") and len(key) > 40 and channel["key_hint"] == key[:7]
        assert channel["kind"] == "hotline" and channel["active"] is True
        assert (await client.post("/v1/admin/channels", json=HOTLINE, headers=ADMIN)).status_code == 409

        # Stored hashed: the database holds the SHA-256, never the key.
        raw = await app.state.container.store.channels.find_one({"_id": "hotline"})
        assert raw["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
        assert key not in str(raw)
        listed = (await client.get("/v1/admin/channels", headers=ADMIN)).json()["channels"]
        assert all("api_key" not in c and "key_hash" not in c for c in listed)

        # The hotline files on a resident's behalf; that, the operator and the channel's webhook travel.
        body = {**REQUEST, "filed_by": "坐席07"}
        filed = await client.post("/v1/requests", json=body, headers={"X-API-Key": key})
        assert filed.status_code == 201, filed.text
        rid = filed.json()["id"]
        events = await eventually(lambda: heard.of("request.submitted", rid), what="request.submitted")
        data = events[0].data
        assert data["channel"] == "hotline" and data["channel_kind"] == "hotline"
        assert data["on_behalf"] is True and data["filed_by"] == "坐席07"
        assert data["channel_webhook_url"] == "https://hotline.example/hook"
        doc = await app.state.container.store.by_id(rid)
        assert doc["channel"] == "hotline" and doc["on_behalf"] is True  # kept for the ledgers

        rotated = await client.post("/v1/admin/channels/hotline/rotate", headers=ADMIN)
        assert rotated.status_code == 200
        new_key = rotated.json()["api_key"]
        assert new_key != key and rotated.json()["rotated_at"]
        assert (await client.post("/v1/requests", json=REQUEST, headers={"X-API-Key": key})).status_code == 403
        assert (await client.post("/v1/requests", json=REQUEST, headers={"X-API-Key": new_key})).status_code == 201

        disabled = await client.post("/v1/admin/channels/hotline/disable", headers=ADMIN)
        assert disabled.json()["active"] is False
        assert (await client.post("/v1/requests", json=REQUEST, headers={"X-API-Key": new_key})).status_code == 403
        form = {"api_key": new_key, "service_code": "legal_aid", "address_string": "1号楼", "first_name": "李"}
        assert (await client.post("/open311/v2/requests.json", data=form)).status_code == 403
        await client.post("/v1/admin/channels/hotline/enable", headers=ADMIN)
        assert (await client.post("/open311/v2/requests.json", data=form)).status_code == 201

        patched = await client.patch("/v1/admin/channels/hotline", json={"webhook_url": None}, headers=ADMIN)
        assert patched.status_code == 200 and patched.json()["webhook_url"] is None
        assert (await client.get("/v1/admin/channels/nope", headers=ADMIN)).status_code == 404


async def test_channel_input_is_checked(run_service: Any) -> None:
    async with run_service("intake") as (client, _app):
        bad = [
            {**HOTLINE, "kind": "fax"},
            {**HOTLINE, "id": "Bad Id"},
            {**HOTLINE, "webhook_url": "ftp://x.example/hook"},
            {**HOTLINE, "secret": "x"},
        ]
        for body in bad:
            r = await client.post("/v1/admin/channels", json=body, headers=ADMIN)
            assert r.status_code == 422, body
        assert len((await client.get("/v1/admin/channels", headers=ADMIN)).json()["channels"]) == 2  # web, portal


async def test_prod_mode_seeds_no_channel_and_needs_https_webhooks(run_service: Any) -> None:
    secrets = PROD_SECRETS
    async with run_service("intake", mode="prod", **secrets) as (client, _app):
        admin = {"X-Admin-Token": PROD_SECRETS["admin_token"]}
        channels = (await client.get("/v1/admin/channels", headers=admin)).json()["channels"]
        assert [(c["id"], c["key_hint"]) for c in channels] == [("portal", None)]  # the portal's, with no known key
        assert (await client.get("/v1/admin/channels", headers=ADMIN)).status_code == 403  # the dev token is not it
        r = await client.post(
            "/v1/admin/channels", json={**HOTLINE, "webhook_url": "http://x.example/h"}, headers=admin
        )
        assert r.status_code == 422 and r.json()["fields"][0]["field"] == "webhook_url"
        assert (
            await client.post("/v1/requests", json=REQUEST, headers={"X-API-Key": "dev-web-key"})
        ).status_code == 403
