"""End to end: the stack as OS processes with HUIYING_NOTIFY_SMTP_URL pointing at a local SMTP server.
A resident with an email address gets the receipt by mail and in the inbox, in their language."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from huiying.stack import Stack
from tests.e2e.conftest import dump_logs, settings_from, stack_env
from tests.support import free_port, wait_sync


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


@pytest.fixture(scope="module")
def mailbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


@pytest.fixture(scope="module")
def stack_with_mail(
    tmp_path_factory: pytest.TempPathFactory, amqp_url: str, mailbox: tuple[Inbox, int]
) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("notify-stack")
    env = stack_env(tmp, HUIYING_NOTIFY_SMTP_URL=f"smtp://127.0.0.1:{mailbox[1]}", HUIYING_AMQP_URL=amqp_url)
    s = Stack(settings_from(env), env=env, log_dir=Path(tmp) / "logs")
    s.start()
    yield s
    s.stop()


@pytest.mark.parametrize(
    ("language", "subject_start", "greeting"),
    [("en", "We have received your request", "Hello"), ("zh-CN", "我们已收到您反映的问题", "您好")],
)
def test_a_resident_with_an_email_address_gets_the_receipt_by_mail_and_in_the_inbox(
    stack_with_mail: Stack, mailbox: tuple[Inbox, int], language: str, subject_start: str, greeting: str
) -> None:
    inbox, _ = mailbox
    stack = stack_with_mail
    address = f"resident-{language.lower()}@example.com"
    with httpx.Client(timeout=10) as http:
        r = http.post(
            f"{stack.url('intake')}/v1/requests",
            headers={"X-API-Key": "dev-web-key"},
            json={
                "service_code": "legal_aid",
                "description": "想咨询劳动合同纠纷",
                "location": {"address": "5号楼1单元302"},
                "resident": {"name": "李师傅", "phone": "13912345678", "email": address, "language": language},
            },
        )
        assert r.status_code == 201, r.text
        code = r.json()["tracking_code"]

        def mail() -> Any:
            return [
                m
                for rcpts, m in inbox.messages
                if address in rcpts and code in str(m["Subject"]) and str(m["Subject"]).startswith(subject_start)
            ]

        (receipt,) = wait_sync(mail, timeout=60, what=f"the receipt mail\n{dump_logs(stack)}")
        text = receipt.get_body(preferencelist=("plain",)).get_content()
        assert greeting in text and code in text and f"/track/{code}" in text
        assert receipt.get_body(preferencelist=("html",)) is not None

        def in_inbox() -> Any:
            r = http.get(f"{stack.url('notify')}/v1/inbox/{code}")
            return r.json()["messages"] if r.status_code == 200 and r.json()["messages"] else None

        messages = wait_sync(in_inbox, timeout=30, what="the receipt in the inbox")
        assert messages[0]["event_type"] == "request.submitted" and messages[0]["language"] == language
        assert messages[0]["subject"] == str(receipt["Subject"])


class Console:
    """Staff actions over routing's HTTP API, with routing-issued tokens."""

    def __init__(self, http: httpx.Client, routing: str) -> None:
        self.http, self.routing = http, routing
        self.tokens: dict[str, str] = {}

    def token(self, username: str) -> str:
        if username not in self.tokens:
            r = self.http.post(f"{self.routing}/v1/auth/login", json={"username": username, "password": "dev-password"})
            assert r.status_code == 200, r.text
            self.tokens[username] = r.json()["access_token"]
        return self.tokens[username]

    def act(self, request_id: str, action: str, username: str, body: dict[str, Any] | None = None) -> None:
        r = self.http.post(
            f"{self.routing}/v1/tasks/{request_id}/{action}",
            json=body,
            headers={"Authorization": f"Bearer {self.token(username)}"},
        )
        assert r.status_code == 200, f"{action}: {r.status_code} {r.text}"


def test_every_step_reaches_the_resident_by_mail_and_inbox_and_staff_see_the_log(
    stack_with_mail: Stack, mailbox: tuple[Inbox, int]
) -> None:
    inbox, _ = mailbox
    stack = stack_with_mail
    intake, routing, notify = stack.url("intake"), stack.url("routing"), stack.url("notify")
    address = "steps@example.com"
    with httpx.Client(timeout=15) as http:
        console = Console(http, routing)
        r = http.post(
            f"{intake}/v1/requests",
            headers={"X-API-Key": "dev-web-key"},
            json={
                "service_code": "legal_aid",
                "description": "Question about my employment contract",
                "location": {"address": "5号楼1单元302"},
                "resident": {"name": "Li", "phone": "13912345678", "email": address, "language": "en"},
            },
        )
        assert r.status_code == 201, r.text
        code, request_id = r.json()["tracking_code"], r.json()["id"]
        member = "legal_aid.member"

        def messages(count: int) -> Any:
            r = http.get(f"{notify}/v1/inbox/{code}")
            got = r.json()["messages"] if r.status_code == 200 else []
            return got if len(got) >= count else None

        wait_sync(lambda: messages(2), timeout=60, what=f"receipt and dispatch notice\n{dump_logs(stack)}")
        console.act(request_id, "claim", member)
        wait_sync(lambda: messages(3), timeout=30, what="the claim notice")
        console.act(request_id, "start", member, {"public_note": "A lawyer will call you tomorrow."})
        wait_sync(lambda: messages(4), timeout=30, what="the in-progress notice")
        console.act(request_id, "resolve", member, {"reply": "The lawyer reviewed your contract with you."})
        got = wait_sync(lambda: messages(5), timeout=30, what=f"the resolution\n{dump_logs(stack)}")
        assert [m["event_type"] for m in got] == [
            "request.submitted",
            "task.dispatched",
            "task.claimed",
            "task.started",
            "task.resolved",
        ]
        assert all(m["language"] == "en" for m in got)
        resolution = got[-1]["body"]
        assert "The lawyer reviewed your contract with you." in resolution
        assert f"{intake}/feedback/{code}" in resolution

        def mails() -> Any:
            mine = [m for rcpts, m in inbox.messages if address in rcpts]
            return mine if len(mine) >= 5 else None

        mine = wait_sync(mails, timeout=60, what=f"five mails\n{dump_logs(stack)}")
        assert [str(m["Subject"]) for m in mine] == [m["subject"] for m in got]
        assert "A lawyer will call you tomorrow." in mine[3].get_body(preferencelist=("plain",)).get_content()

        # The delivery log, with a routing-issued token: the team's member sees it, another team does not.
        url = f"{notify}/v1/deliveries"
        assert http.get(url, params={"request_id": request_id}).status_code == 401
        own = http.get(
            url, params={"request_id": request_id}, headers={"Authorization": f"Bearer {console.token(member)}"}
        )
        assert own.status_code == 200, own.text
        rows = own.json()["deliveries"]
        assert sorted({(d["channel"], d["status"]) for d in rows}) == [("email", "sent"), ("inbox", "sent")]
        assert len(rows) == 10
        other = http.get(
            url,
            params={"request_id": request_id},
            headers={"Authorization": f"Bearer {console.token('mediation.member')}"},
        )
        assert other.status_code == 404
