"""The staff console over routing's real app in-process (real RabbitMQ, embedded MongoDB): sign-in with an
HttpOnly SameSite=Strict cookie, CSRF checks, the queue and its conditional refresh, the task page with
exactly the allowed actions, refusals worded in the staff member's language, 404 for another team's work,
and the supervisors' re-dispatch."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from tests.integration.routing.conftest import Routing, submitted
from tests.support import eventually

M, M2, LEAD = "property_maintenance.member", "property_maintenance.member2", "property_maintenance.lead"
ORIGIN = {"Origin": "http://routing"}
ACTION_FORM = re.compile(r'action="/console/tasks/[^/"]+/([a-z-]+)"')


class Console:
    """One signed-in browser: its own cookie jar."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.csrf = ""

    async def sign_in(self, username: str, lang: str | None = None) -> httpx.Response:
        r = await self.http.post(
            "/console/login", data={"username": username, "password": "dev-password", "next": "/console/"},
            headers=ORIGIN,
        )  # fmt: skip
        assert r.status_code == 303, r.text
        page = await self.get("/console/" + (f"?lang={lang}" if lang else ""))
        self.csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)  # type: ignore[union-attr]
        return r

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        return await self.http.get(path, **kw)

    async def act(self, task_id: str, action: str, data: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
        body = {"csrf": self.csrf, **(data or {})}
        headers = kw.pop("headers", ORIGIN)
        return await self.http.post(f"/console/tasks/{task_id}/{action}", data=body, headers=headers, **kw)


@asynccontextmanager
async def browser(routing: Routing) -> AsyncIterator[Console]:
    transport = httpx.ASGITransport(app=routing.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://routing") as http:
        yield Console(http)


NOT_LIFECYCLE = {"reveal-phone"}  # the logged reveal of the resident's phone (docs/security.md), not an action


def actions_on(html: str) -> set[str]:
    return set(ACTION_FORM.findall(html)) - NOT_LIFECYCLE


async def test_sign_in_sets_a_strict_http_only_cookie_and_sign_out_ends_it(routing: Routing) -> None:
    async with browser(routing) as c:
        r = await c.get("/console/tasks/x?y=1")
        assert r.status_code == 303 and r.headers["location"] == "/console/login?next=%2Fconsole%2Ftasks%2Fx%3Fy%3D1"
        login = await c.get("/console/login")
        assert login.status_code == 200 and 'name="password"' in login.text and "工作人员登录" in login.text
        assert "script-src 'self'" in login.headers["content-security-policy"]

        r = await c.http.post("/console/login", data={"username": M, "password": "wrong"}, headers=ORIGIN)
        assert (
            r.status_code == 400
            and "用户名或密码错误" in r.text
            and "huiying_staff" not in r.headers.get("set-cookie", "")
        )
        r = await c.http.post("/console/login", data={"username": M, "password": "dev-password",
                                                      "next": "https://evil.example/"}, headers=ORIGIN)  # fmt: skip
        assert r.status_code == 303 and r.headers["location"] == "/console/"  # no open redirect
        cookie = r.headers["set-cookie"].lower()
        assert "huiying_staff=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
        assert "path=/" in cookie
        page = await c.get("/console/")
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)  # type: ignore[union-attr]

        # the cookie is the API's token too (shared.security reads it)
        assert (await c.get("/v1/auth/me")).json()["username"] == M

        await routing.add_staff("pm.wang", "member", "property_maintenance")
        async with browser(routing) as other:
            await other.sign_in("pm.wang")
            assert (await other.get("/console/")).status_code == 200
            r = await routing.http.patch("/v1/staff/pm.wang", json={"active": False},
                                         headers={"X-Admin-Token": routing.settings.admin_token})  # fmt: skip
            assert r.status_code == 200
            assert (await other.get("/console/")).status_code == 303  # a disabled account is out at once

        assert (await c.http.post("/console/logout", data={}, headers=ORIGIN)).status_code == 403
        r = await c.http.post("/console/logout", data={"csrf": csrf}, headers=ORIGIN)
        assert r.status_code == 303 and r.headers["location"] == "/console/login"
        assert (await c.get("/console/")).status_code == 303


async def test_a_sign_in_or_an_action_from_another_site_is_refused(routing: Routing) -> None:
    task = await routing.submit()
    async with browser(routing) as c:
        evil = {"Origin": "http://evil.example"}
        r = await c.http.post("/console/login", data={"username": M, "password": "dev-password"}, headers=evil)
        assert r.status_code == 403 and "huiying_staff" not in r.headers.get("set-cookie", "")
        await c.sign_in(M)
        assert (await c.act(task["id"], "claim", headers=evil)).status_code == 403
        r = await c.http.post(f"/console/tasks/{task['id']}/claim", data={"csrf": "0" * 64}, headers=ORIGIN)
        assert r.status_code == 403 and "表单已过期" in r.text
        r = await c.http.post(f"/console/tasks/{task['id']}/claim", data={}, headers={"Referer": "http://evil.x/a"})
        assert r.status_code == 403
    assert (await routing.task(task["id"])).json()["status"] == "dispatched"


async def test_a_member_claims_and_resolves_with_a_public_reply(routing: Routing) -> None:
    data = submitted(description="卫生间门锁坏了，打不开")
    task = await routing.submit(data)
    async with browser(routing) as c:
        await c.sign_in(M)
        queue = await c.get("/console/")
        assert data.tracking_code in queue.text and "物业" in queue.text
        assert f'action="/console/tasks/{task["id"]}/claim"' in queue.text

        r = await c.act(task["id"], "claim", {"next": f"/console/tasks/{task['id']}"})
        assert r.status_code == 303 and r.headers["location"] == f"/console/tasks/{task['id']}?done=claim"
        page = await c.get(r.headers["location"])
        assert "已完成：签收" in page.text and "卫生间门锁坏了，打不开" in page.text
        assert "resolve" in actions_on(page.text)

        r = await c.act(task["id"], "resolve", {"reply": "   "})
        assert r.status_code == 422 and "请填写「给居民的答复」" in r.text
        r = await c.act(task["id"], "resolve", {"reply": "已更换门锁，请验收。", "note": "换了新锁芯"})
        assert r.status_code == 303
        page = await c.get(r.headers["location"])
        assert "已办结" in page.text and "已更换门锁，请验收。" in page.text
        assert actions_on(page.text) == {"note"}  # a note can always be added

    view = (await routing.task(task["id"])).json()
    assert view["status"] == "resolved" and view["reply"] == "已更换门锁，请验收。" and view["assignee"] == M
    events = await routing.events_of(task["id"], 3)
    assert [e.type for e in events] == ["task.dispatched", "task.claimed", "task.resolved"]
    assert events[-1].data["public_note"] == "已更换门锁，请验收。"


async def test_a_refusal_gives_the_reason_in_the_staff_members_language(routing: Routing) -> None:
    task = await routing.submit()
    await routing.ok(task["id"], "claim", M)
    async with browser(routing) as c:
        await c.sign_in(M2)
        page = await c.get(f"/console/tasks/{task['id']}")
        assert actions_on(page.text) == {"note", "duplicate"}  # nothing that is the assignee's
        r = await c.act(task["id"], "resolve", {"reply": "好了"})
        assert r.status_code == 403
        assert f"此工单由 {M} 办理，只有办理人或组长可以「办结」" in r.text
        r = await c.act(task["id"], "claim")
        assert r.status_code == 409 and "工单当前为「已签收」，不能「签收」" in r.text
        r = await c.act(task["id"], "transfer", {"team_id": "legal_aid", "reason": "x"})
        assert r.status_code == 403 and "只有组长、督办人员、管理员可以「转派」" in r.text

        await c.get("/console/?lang=en")  # the switch is remembered
        r = await c.act(task["id"], "resolve", {"reply": "done"})
        assert r.status_code == 403
        assert f"The task is with {M}; only its assignee or a team lead may “Resolve”." in r.text
        assert '<html lang="en">' in r.text
        assert f'href="/console/tasks/{task["id"]}?lang=zh-CN"' in r.text  # the switch leads back to the task
    async with browser(routing) as c:
        await c.sign_in(M)
        r = await c.act(task["id"], "return", {"reason_code": "other"})
        assert r.status_code == 422 and "请在备注中说明原因" in r.text
        r = await c.act(task["id"], "extend", {"reason": "缺配件", "working_days": "99"})
        assert r.status_code == 422 and "1 到 60" in r.text
        assert 'value="缺配件"' in r.text  # what was typed comes back
    assert (await routing.task(task["id"])).json()["status"] == "claimed"


async def test_another_teams_task_is_not_revealed(routing: Routing) -> None:
    data = submitted()
    task = await routing.submit(data)
    async with browser(routing) as c:
        await c.sign_in("legal_aid.member")
        r = await c.get(f"/console/tasks/{task['id']}")
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
        assert "没有这个工单，或不是您团队的工单" in r.text and data.tracking_code not in r.text
        missing = await c.get("/console/tasks/no-such-task")
        assert missing.status_code == 404 and missing.text.count("没有这个工单") == r.text.count("没有这个工单")
        r = await c.act(task["id"], "claim")
        assert r.status_code == 404
        searched = await c.get(f"/console/?q={data.tracking_code}&status=all")
        assert searched.status_code == 200 and f'data-code="{data.tracking_code}"' not in searched.text
        assert (await c.get("/console/nothing/here")).status_code == 404
        assert (await c.get("/console/supervise")).status_code == 403
        assert (await c.get("/console/ledger")).status_code == 403
        assert (await c.act(task["id"], "fly")).status_code == 404
    assert (await routing.task(task["id"])).json()["status"] == "dispatched"


async def test_the_task_page_offers_exactly_the_actions_the_lifecycle_allows(routing: Routing) -> None:
    task = await routing.submit()
    for username in (M, M2, LEAD, "supervisor", "admin"):
        api = await routing.http.get(f"/v1/tasks/{task['id']}", headers=await routing.headers(username))
        async with browser(routing) as c:
            await c.sign_in(username)
            page = await c.get(f"/console/tasks/{task['id']}")
            assert page.status_code == 200
            assert actions_on(page.text) == set(api.json()["allowed_actions"]), username


async def test_a_lead_works_the_lifecycle_through_the_forms(routing: Routing) -> None:
    task = await routing.submit()
    tid = task["id"]
    async with browser(routing) as lead, browser(routing) as member:
        await lead.sign_in(LEAD)
        await member.sign_in(M)
        steps: list[tuple[Console, str, dict[str, str]]] = [
            (lead, "assign", {"assignee": M2}),
            (member, "claim", {}),
            (member, "start", {"public_note": "师傅下午上门"}),
            (member, "note", {"text": "住户两点后在家", "visibility": "internal"}),
            (member, "note", {"text": "已联系住户", "visibility": "public"}),
            (member, "hold", {"reason": "等配件"}),
            (member, "resume", {}),
            (member, "extend", {"reason": "配件缺货", "working_days": "2"}),
            (lead, "deny-extension", {"note": "请尽快"}),
            (member, "extend", {"reason": "配件仍缺货", "working_days": "1"}),
            (lead, "approve-extension", {}),
            (lead, "transfer", {"team_id": "community_work_group", "reason": "属于公共区域"}),
        ]
        for who, action, data in steps:
            r = await who.act(tid, action, data)
            assert r.status_code == 303, f"{action}: {r.status_code} {r.text[:2000]}"
        assert r.headers["location"] == "/console/?done=transfer"  # the task left the lead's team
        page = await member.get(f"/console/tasks/{tid}")
        assert page.status_code == 404
    view = (await routing.task(tid)).json()
    assert view["team"]["id"] == "community_work_group" and view["status"] == "dispatched"
    assert view["counts"]["extensions"] == 2  # (a transfer starts the new team's clocks afresh)
    history = [h["action"] for h in view["history"]]
    assert history == ["dispatch", "assign", "claim", "start", "note", "note", "hold", "resume", "extend",
                       "deny-extension", "extend", "approve-extension", "transfer"]  # fmt: skip
    async with browser(routing) as sup:
        await sup.sign_in("supervisor")
        page = await sup.get(f"/console/tasks/{tid}")
        for text in ("住户两点后在家", "已联系住户", "居民可见", "等配件", "请尽快", "属于公共区域", "转派"):
            assert text in page.text, text


async def test_the_queue_refreshes_with_a_conditional_request(routing: Routing) -> None:
    first = submitted(description="楼道灯坏了")
    await routing.submit(first)
    async with browser(routing) as c:
        assert (await c.get("/console/queue/items")).status_code == 401
        await c.sign_in(M)
        page = await c.get("/console/?priority=normal")
        etag = re.search(r'data-etag="([^"]+)"', page.text).group(1).replace("&#34;", '"')  # type: ignore[union-attr]
        assert 'data-poll-url="/console/queue/items?priority=normal"' in page.text
        r = await c.get("/console/queue/items?priority=normal", headers={"If-None-Match": etag})
        assert r.status_code == 304 and r.headers["etag"] == etag and not r.content
        second = submitted(description="电梯异响")
        await routing.submit(second)
        r = await c.get("/console/queue/items?priority=normal", headers={"If-None-Match": etag})
        assert r.status_code == 200 and r.headers["etag"] != etag
        assert second.tracking_code in r.text and first.tracking_code in r.text and "<html" not in r.text
        again = await c.get("/console/queue/items?priority=normal", headers={"If-None-Match": r.headers["etag"]})
        assert again.status_code == 304
        # a filter narrows the feed; a nonsense filter is ignored, never an error
        r = await c.get(f"/console/queue/items?q={first.tracking_code.lower()}&priority=nope&status=zzz&page=x")
        assert r.status_code == 200 and first.tracking_code in r.text and second.tracking_code not in r.text


async def test_a_supervisor_dispatches_returned_work_again(routing: Routing) -> None:
    data = submitted()
    task = await routing.submit(data)
    await routing.ok(task["id"], "return", M, {"reason_code": "wrong_locality", "note": "不在本片区"})
    async with browser(routing) as c:
        await c.sign_in("supervisor")
        page = await c.get("/console/supervise")
        assert page.status_code == 200 and data.tracking_code in page.text and "不属本辖区" in page.text
        assert f'action="/console/tasks/{task["id"]}/dispatch"' in page.text
        feed = await c.get("/console/supervise/items")
        assert feed.status_code == 200 and data.tracking_code in feed.text
        r = await c.act(task["id"], "dispatch", {"team_id": "community_work_group", "next": "/console/supervise"})
        assert r.status_code == 303 and r.headers["location"] == "/console/supervise?done=dispatch"
        page = await c.get(r.headers["location"])
        assert "已完成：派单" in page.text and data.tracking_code not in page.text
    view = (await routing.task(task["id"])).json()
    assert view["status"] == "dispatched" and view["team"]["id"] == "community_work_group"
    await eventually(lambda: routing.listener.of("task.dispatched", task["id"])[1:], timeout=20, what="re-dispatch")

    # overdue work of any team is there too, and can be moved from the same page
    late = await routing.submit(submitted("legal_aid", "劳动合同纠纷咨询"))
    routing.clock.advance(hours=24)  # past the 4 working hours to claim
    async with browser(routing) as c:
        await c.sign_in("supervisor")
        page = await c.get("/console/supervise")
        overdue = page.text[page.text.index('id="overdue-h"') :]
        assert late["tracking_code"] in overdue and "已超时" in overdue
        assert f'action="/console/tasks/{late["id"]}/dispatch"' in overdue
        r = await c.act(
            late["id"], "dispatch", {"team_id": "mediation", "priority": "high", "next": "/console/supervise"}
        )
        assert r.status_code == 303
    view = (await routing.task(late["id"])).json()
    assert (view["team"]["id"], view["priority"], view["overdue"]) == ("mediation", "high", False)


async def test_the_english_switch_is_remembered(routing: Routing) -> None:
    async with browser(routing) as c:
        r = await c.get("/console/login?lang=en")
        assert "Staff sign-in" in r.text and "huiying_lang=en" in r.headers["set-cookie"]
        await c.sign_in(M)
        page = await c.get("/console/")
        assert '<html lang="en">' in page.text and "Property" in page.text and "Sign out" in page.text
        page = await c.get("/console/?lang=zh-CN")
        assert '<html lang="zh-CN">' in page.text and "退出" in page.text


async def test_two_replicas_serve_one_console_session(start_routing: Any) -> None:
    """Nothing of a console session lives in a process: sign in on one replica, act and poll on the other."""
    async with start_routing() as a, start_routing() as b:
        assert a.settings.routing_mongodb_db == b.settings.routing_mongodb_db
        task = await a.submit()
        async with browser(a) as on_a:
            await on_a.sign_in(M)
            page = await on_a.get("/console/")
            etag = re.search(r'data-etag="([^"]+)"', page.text).group(1).replace("&#34;", '"')  # type: ignore[union-attr]
            transport = httpx.ASGITransport(app=b.app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://routing", cookies=on_a.http.cookies
            ) as h:
                on_b = Console(h)
                on_b.csrf = on_a.csrf
                polled = await on_b.get("/console/queue/items", headers={"If-None-Match": etag})
                assert polled.status_code == 304  # the same answer from the other replica
                r = await on_b.act(task["id"], "claim")
                assert r.status_code == 303, r.text
                polled = await on_a.get("/console/queue/items", headers={"If-None-Match": etag})
                assert polled.status_code == 200 and "已签收" in polled.text
        assert (await a.task(task["id"])).json()["status"] == "claimed"
