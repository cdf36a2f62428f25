"""Sign-in, dev accounts, tokens other services verify, staff administration, teams and the vocabulary."""

from __future__ import annotations

from typing import Any

from shared.security import verify_token
from tests.integration.routing.conftest import Routing
from tests.support import eventually


async def test_dev_mode_seeds_a_member_and_a_lead_per_team_a_supervisor_and_an_admin(routing: Routing) -> None:
    teams = (await routing.http.get("/v1/teams")).json()["teams"]
    assert len(teams) == 8
    usernames = [f"{t['id']}.{role}" for t in teams for role in ("member", "lead")] + ["supervisor", "admin"]
    for username in usernames:
        r = await routing.http.post("/v1/auth/login", json={"username": username, "password": "dev-password"})
        assert r.status_code == 200, (username, r.text)
    people = (await routing.http.get("/v1/staff", headers=await routing.headers("admin"))).json()["staff"]
    assert set(usernames) <= {p["username"] for p in people}


async def test_login_gives_a_token_intake_and_notify_can_verify(routing: Routing) -> None:
    r = await routing.http.post("/v1/auth/login", json={"username": "legal_aid.lead", "password": "dev-password"})
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == routing.settings.jwt_ttl_s
    assert body["staff"] == {**body["staff"], "username": "legal_aid.lead", "role": "lead", "team": "legal_aid"}
    claims = verify_token(routing.settings, body["access_token"])
    assert (claims.sub, claims.role, claims.team) == ("legal_aid.lead", "lead", "legal_aid")
    me = await routing.http.get("/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["username"] == "legal_aid.lead"


async def test_wrong_passwords_and_unknown_users_get_the_same_401(routing: Routing) -> None:
    wrong = await routing.http.post("/v1/auth/login", json={"username": "supervisor", "password": "nope"})
    unknown = await routing.http.post("/v1/auth/login", json={"username": "nobody", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    r = await routing.http.post("/v1/auth/login", json={"username": "supervisor"})
    assert r.status_code == 422 and "password" in r.json()["message"]


async def test_passwords_are_stored_as_argon2_hashes(routing: Routing) -> None:
    doc = await routing.app.state.container.staff.collection.find_one({"_id": "supervisor"})
    assert doc["password_hash"].startswith("$argon2") and "dev-password" not in str(doc)


async def test_an_admin_creates_an_account_with_contact_details_and_the_new_member_signs_in(routing: Routing) -> None:
    created = await routing.add_staff(
        "pm.zhang",
        "member",
        "property_maintenance",
        email="zhang@example.org",
        phone="+86 138 0000 1111",
        language="en",
    )
    assert created["email"] == "zhang@example.org" and "password" not in str(created)
    r = await routing.http.post("/v1/auth/login", json={"username": "pm.zhang", "password": "dev-password"})
    assert r.status_code == 200
    admin = await routing.headers("admin")
    bad = [
        ({"username": "x1", "password": "long-enough-pw", "role": "member"}, "team"),
        ({"username": "x2", "password": "long-enough-pw", "role": "member", "team": "pirates"}, "team"),
        ({"username": "x3", "password": "long-enough-pw", "role": "supervisor", "team": "legal_aid"}, "team"),
        ({"username": "x4", "password": "short", "role": "admin"}, "password"),
        ({"username": "Bad Name", "password": "long-enough-pw", "role": "admin"}, "username"),
        ({"username": "x5", "password": "long-enough-pw", "role": "admin", "email": "not-an-email"}, "email"),
    ]
    for body, field_name in bad:
        r = await routing.http.post("/v1/staff", json=body, headers=admin)
        assert r.status_code == 422 and field_name in r.json()["message"], (body, r.text)
    r = await routing.http.post(
        "/v1/staff", json={"username": "pm.zhang", "password": "long-enough-pw", "role": "admin"}, headers=admin
    )
    assert r.status_code == 409


async def test_a_role_change_applies_at_once(routing: Routing) -> None:
    task = await routing.submit()
    headers = await routing.headers("property_maintenance.member2")
    r = await routing.http.post(
        f"/v1/tasks/{task['id']}/transfer", json={"team_id": "legal_aid", "reason": "x"}, headers=headers
    )
    assert r.status_code == 403
    admin = await routing.headers("admin")
    r = await routing.http.patch("/v1/staff/property_maintenance.member2", json={"role": "lead"}, headers=admin)
    assert r.json()["role"] == "lead"
    transfer = {"team_id": "legal_aid", "reason": "x"}
    # The token issued before the change speaks for the old account no more: sign in again for the new role.
    r = await routing.http.post(f"/v1/tasks/{task['id']}/transfer", json=transfer, headers=headers)
    assert r.status_code == 401 and "sign in again" in r.json()["message"]
    routing.tokens.pop("property_maintenance.member2")
    headers = await routing.headers("property_maintenance.member2")
    r = await routing.http.post(f"/v1/tasks/{task['id']}/transfer", json=transfer, headers=headers)
    assert r.status_code == 200, r.text


async def test_change_your_own_password(routing: Routing) -> None:
    headers = await routing.headers("volunteers.member")
    r = await routing.http.post(
        "/v1/auth/password", json={"current_password": "wrong", "new_password": "a-new-long-password"}, headers=headers
    )
    assert r.status_code == 403
    r = await routing.http.post(
        "/v1/auth/password",
        json={"current_password": "dev-password", "new_password": "a-new-long-password"},
        headers=headers,
    )
    assert r.status_code == 204
    login = {"username": "volunteers.member", "password": "a-new-long-password"}
    assert (await routing.http.post("/v1/auth/login", json=login)).status_code == 200


async def test_members_off_duty_are_not_proposed(routing: Routing) -> None:
    for who in ("property_maintenance.member", "property_maintenance.member2"):
        r = await routing.http.put("/v1/staff/me/duty", json={"on_duty": False}, headers=await routing.headers(who))
        assert r.json()["on_duty"] is False
    task = await routing.submit()
    assert task["assignee"] is None
    assert task["decision"]["assignee_rule"] == "team:property_maintenance:load:nobody-on-duty"


async def test_teams_show_their_areas_hours_and_work_queue(routing: Routing) -> None:
    body = (await routing.http.get("/v1/teams")).json()
    teams = {t["id"]: t for t in body["teams"]}
    pm = teams["property_maintenance"]
    assert pm["serves"] == {"grids": ["grid-1", "grid-2"], "buildings": []}
    assert pm["hours"] == ["08:00-12:00", "13:00-18:00"] and pm["assignment"] == "load"
    assert pm["work_queue"].endswith("work.property_maintenance")
    assert teams["legal_aid"]["serves"] == "all" and teams["legal_aid"]["hours"] == ["08:30-12:00", "13:30-17:30"]
    assert teams["volunteers"]["days"] == ["mon", "tue", "wed", "thu", "fri", "sat"]
    assert [g["id"] for g in body["grids"]] == ["grid-1", "grid-2", "grid-3"]
    assert body["timezone"] == "Asia/Shanghai"


async def test_the_lifecycle_vocabulary_has_both_languages(routing: Routing) -> None:
    body = (await routing.http.get("/v1/lifecycle")).json()
    statuses = {s["id"]: s["label"] for s in body["statuses"]}
    assert statuses["claimed"] == {"zh-CN": "已签收", "en": "Claimed"}
    actions = {a["id"]: a for a in body["actions"]}
    assert actions["transfer"]["label"]["zh-CN"] == "转派" and "member" not in actions["transfer"]["roles"]
    assert {r["id"] for r in body["return_reasons"]} >= {"wrong_locality", "outside_remit"}


async def test_account_changes_are_published_with_a_newer_token_version(routing: Routing) -> None:
    created = await routing.add_staff("pm.sun", "member", "property_maintenance")
    admin = {"X-Admin-Token": routing.settings.admin_token}
    for patch in ({"display_name": "孙师傅"}, {"on_duty": False}, {"active": False}, {"active": True}):
        assert (await routing.http.patch("/v1/staff/pm.sun", json=patch, headers=admin)).status_code == 200
    assert created["username"] == "pm.sun"

    async def heard() -> list[Any] | None:
        events = [e for e in routing.listener.of("staff.changed", "staff:pm.sun")]
        return events if len(events) == 3 else None

    events = await eventually(heard, what="created, disabled and enabled")
    seen = [(e.seq, e.data["change"], e.data["token_version"], e.data["active"]) for e in events]
    # Name and duty changes concern no other service; a disable revokes tokens, a re-enable does not.
    assert seen == [(1, "created", 0, True), (2, "disabled", 1, False), (3, "enabled", 1, True)]

    async def settled() -> bool:  # published, then removed from the account's outbox
        stored = await routing.app.state.container.staff.collection.find_one({"_id": "pm.sun"})
        return stored is not None and not stored.get("outbox")

    await eventually(settled, what="the account's outbox to be settled")
