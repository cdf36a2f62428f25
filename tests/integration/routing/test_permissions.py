"""Who may do what, over HTTP: a test per rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt

from shared.security import csrf_token
from tests.integration.routing.conftest import Routing

M, M2, L = "property_maintenance.member", "property_maintenance.member2", "property_maintenance.lead"
OTHER_M, OTHER_L = "legal_aid.member", "legal_aid.lead"


async def test_no_token_gets_401_everywhere(routing: Routing) -> None:
    task = await routing.submit()
    calls = [
        ("GET", "/v1/queue"),
        ("GET", f"/v1/tasks/{task['id']}"),
        ("POST", f"/v1/tasks/{task['id']}/claim"),
        ("GET", "/v1/ledger/summary"),
        ("GET", "/v1/rules"),
        ("GET", "/v1/staff"),
        ("GET", "/v1/auth/me"),
    ]
    for method, path in calls:
        r = await routing.http.request(method, path)
        assert r.status_code == 401, (path, r.text)
        assert r.headers["www-authenticate"] == "Bearer"
        assert "token" in r.json()["message"]


async def test_a_forged_or_expired_token_gets_401(routing: Routing) -> None:
    now = datetime.now(UTC)
    claims = {"sub": "supervisor", "role": "supervisor", "team": None, "iss": "huiying-routing", "aud": "huiying"}
    forged = jwt.encode(
        {**claims, "iat": now, "exp": now + timedelta(hours=1)},
        "not-the-secret-but-32-bytes-or-more-long",
        algorithm="HS256",
    )
    expired = jwt.encode(
        {**claims, "iat": now - timedelta(hours=2), "exp": now - timedelta(hours=1)},
        routing.settings.jwt_secret,
        algorithm="HS256",
    )
    for token in (forged, expired, "garbage"):
        r = await routing.http.get("/v1/queue", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, r.text


async def test_a_disabled_account_is_refused_at_once_even_with_a_valid_token(routing: Routing) -> None:
    headers = await routing.headers(M)
    assert (await routing.http.get("/v1/queue", headers=headers)).status_code == 200
    admin = await routing.headers("admin")
    assert (await routing.http.patch(f"/v1/staff/{M}", json={"active": False}, headers=admin)).status_code == 200
    assert (await routing.http.get("/v1/queue", headers=headers)).status_code == 401
    r = await routing.http.post("/v1/auth/login", json={"username": M, "password": "dev-password"})
    assert r.status_code == 401


async def test_another_teams_staff_get_404_as_if_the_task_did_not_exist(routing: Routing) -> None:
    task = await routing.submit()
    missing = await routing.task("no-such-task", as_=OTHER_M)
    for who in (OTHER_M, OTHER_L):
        r = await routing.task(task["id"], as_=who)
        assert r.status_code == 404 and r.json()["error"] == "not_found"
        assert r.json()["message"].replace(task["id"], "X") == missing.json()["message"].replace("no-such-task", "X")
        for action, body in (
            ("claim", None),
            ("note", {"text": "x"}),
            ("transfer", {"team_id": "legal_aid", "reason": "x"}),
        ):
            r = await routing.act(task["id"], action, who, body)
            assert r.status_code == 404, (who, action, r.text)
    queue = (await routing.http.get("/v1/queue", headers=await routing.headers(OTHER_M))).json()
    assert queue["items"] == [] and queue["team"] == "legal_aid"
    r = await routing.http.get("/v1/queue?team=property_maintenance", headers=await routing.headers(OTHER_M))
    assert r.status_code == 422
    after = (await routing.task(task["id"])).json()
    assert after["seq"] == 1 and len(after["history"]) == 1


async def test_members_act_on_their_own_teams_tasks(routing: Routing) -> None:
    task = await routing.submit()
    seen = (await routing.task(task["id"], as_=M)).json()
    assert set(seen["allowed_actions"]) == {"claim", "note", "return", "duplicate"}
    assert (await routing.ok(task["id"], "claim", M))["assignee"] == M


async def test_members_may_not_transfer_or_decide_extensions_leads_may(routing: Routing) -> None:
    task = await routing.submit()
    await routing.ok(task["id"], "claim", M)
    await routing.ok(task["id"], "extend", M, {"reason": "配件", "working_days": 1})
    for action, body in (
        ("transfer", {"team_id": "community_work_group", "reason": "x"}),
        ("approve-extension", None),
        ("deny-extension", None),
        ("not-accept", {"reason_code": "in_litigation", "public_note": "x"}),
    ):
        r = await routing.act(task["id"], action, M, body)
        assert r.status_code == 403, (action, r.text)
        assert "team lead" in r.json()["message"]
    assert (await routing.ok(task["id"], "deny-extension", L))["extension"]["status"] == "denied"
    assert (await routing.ok(task["id"], "transfer", L, {"team_id": "community_work_group", "reason": "x"}))["team"][
        "id"
    ] == "community_work_group"


async def test_only_the_assignee_or_a_lead_works_a_claimed_task(routing: Routing) -> None:
    task = await routing.submit()
    await routing.ok(task["id"], "claim", M)
    r = await routing.act(task["id"], "resolve", M2, {"reply": "done"})
    assert r.status_code == 403 and f"assigned to {M}" in r.json()["message"]
    assert (await routing.ok(task["id"], "resolve", L, {"reply": "组长代为办结"}))["status"] == "resolved"


async def test_supervisors_see_everything_and_dispatch_members_and_leads_may_not(routing: Routing) -> None:
    a = await routing.submit()
    b = await routing.submit(service_code="legal_aid", description="合同纠纷")
    for task in (a, b):
        assert (await routing.task(task["id"], as_="supervisor")).status_code == 200
        assert (await routing.task(task["id"], as_="admin")).status_code == 200
    for who in (M, L):
        r = await routing.act(a["id"], "dispatch", who, {"team_id": "volunteers"})
        assert r.status_code == 403 and "supervisor" in r.json()["message"], r.text
    assert (await routing.ok(a["id"], "dispatch", "supervisor", {"team_id": "volunteers"}))["team"][
        "id"
    ] == "volunteers"
    r = await routing.act(b["id"], "claim", "supervisor")
    assert r.status_code == 403


async def test_ledgers_are_for_supervisors_and_admins(routing: Routing) -> None:
    for who, status in ((M, 403), (L, 403), ("supervisor", 200), ("admin", 200)):
        r = await routing.http.get("/v1/ledger/summary", headers=await routing.headers(who))
        assert r.status_code == status, (who, r.text)


async def test_rules_are_read_by_supervisors_and_edited_by_admins_only(routing: Routing) -> None:
    current = (await routing.http.get("/v1/rules", headers=await routing.headers("supervisor"))).json()
    body = {"base_version": current["version"], "rules": current["rules"], "note": "no change"}
    assert (await routing.http.get("/v1/rules", headers=await routing.headers(L))).status_code == 403
    for who in (M, L, "supervisor"):
        r = await routing.http.put("/v1/rules", json=body, headers=await routing.headers(who))
        assert r.status_code == 403, (who, r.text)
    r = await routing.http.put("/v1/rules", json=body, headers=await routing.headers("admin"))
    assert r.status_code == 201, r.text


async def test_staff_accounts_are_managed_by_admins_only(routing: Routing) -> None:
    new = {"username": "pm.new", "password": "long-enough-pw", "role": "member", "team": "property_maintenance"}
    for who in (M, L, "supervisor"):
        r = await routing.http.post("/v1/staff", json=new, headers=await routing.headers(who))
        assert r.status_code == 403, (who, r.text)
        r = await routing.http.patch(f"/v1/staff/{M2}", json={"role": "lead"}, headers=await routing.headers(who))
        assert r.status_code == 403
    r = await routing.http.post("/v1/staff", json=new, headers={"X-Admin-Token": "wrong"})
    assert r.status_code == 401
    r = await routing.http.post("/v1/staff", json=new, headers=await routing.headers("admin"))
    assert r.status_code == 201 and r.json()["team"] == "property_maintenance"
    # members and leads see their own team's list, without contact details
    people = (await routing.http.get("/v1/staff", headers=await routing.headers(M))).json()["staff"]
    assert {p["team"] for p in people} == {"property_maintenance"} and "phone" not in people[0]


async def test_cookie_authenticated_writes_need_the_csrf_token(routing: Routing) -> None:
    task = await routing.submit()
    member = "property_maintenance.member"
    token = (await routing.headers(member))["Authorization"].removeprefix("Bearer ")
    cookie = {"Cookie": f"huiying_staff={token}"}
    # Reads by cookie work as before (the dashboard's CSV links).
    assert (await routing.http.get(f"/v1/tasks/{task['id']}", headers=cookie)).status_code == 200
    # A write by cookie alone is what a forged cross-site request looks like: refused, nothing changes.
    r = await routing.http.post(f"/v1/tasks/{task['id']}/claim", headers=cookie)
    assert r.status_code == 403 and "X-CSRF-Token" in r.json()["message"]
    wrong = await routing.http.post(f"/v1/tasks/{task['id']}/claim", headers={**cookie, "X-CSRF-Token": "guess"})
    assert wrong.status_code == 403
    assert (await routing.task(task["id"])).json()["status"] == "dispatched"
    # With the session's token (what the console's pages carry) it goes through; bearer clients need none.
    csrf = csrf_token(routing.settings.jwt_secret, token)
    r = await routing.http.post(f"/v1/tasks/{task['id']}/claim", headers={**cookie, "X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    assert (await routing.act(task["id"], "start", member)).status_code == 200
