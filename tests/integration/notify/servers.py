"""Real network peers for notify's tests: an SMTP server (aiosmtpd), an HTTP SMS gateway and a webhook
receiver (starlette on uvicorn), each on a free local port, recording what they receive."""

from __future__ import annotations

import asyncio
import email
import email.policy
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import uvicorn
from aiosmtpd.smtp import SMTP, Envelope, Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support import eventually, free_port


class MovableClock:
    """Real time passing from a chosen start: `set()` jumps to a moment, then the clock keeps running."""

    def __init__(self, start: datetime | None = None) -> None:
        self._offset = timedelta(0)
        if start is not None:
            self.set(start)

    def set(self, moment: datetime) -> None:
        self._offset = moment - datetime.now(UTC)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self._offset


# --- SMTP -------------------------------------------------------------------------------------------


class MailHandler:
    """Accepts mail; refuses recipients whose address starts with `bounce` (550, a permanent refusal)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.startswith("bounce"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        message = email.message_from_bytes(content, policy=email.policy.default)
        self.messages.append(message)  # type: ignore[arg-type]
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m, rcpts in zip(self.messages, self.recipients, strict=True) if address in rcpts]


class SmtpServer:
    """aiosmtpd in the test's event loop. `url` works before `start()` (a server that is down)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.handler = MailHandler()
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def messages(self) -> list[EmailMessage]:
        return self.handler.messages

    async def start(self) -> SmtpServer:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(self.handler, hostname="mail.test", loop=loop), "127.0.0.1", self.port
        )
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "the mail has no text part"
    return str(part.get_content())  # type: ignore[attr-defined]


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None, "the mail has no HTML part"
    return str(part.get_content())  # type: ignore[attr-defined]


# --- HTTP: SMS gateway and webhook receiver ---------------------------------------------------------------


SECRET_BODY = "RECEIVER-BODY-c0ffee"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    verified: str | None = None  # the webhook receiver's verdict: "ok" or why it refused

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpPeer:
    """An SMS gateway at /sms and a webhook receiver at /hook.

    `script[path]`: status codes answered to the next requests on that path, then 200 (a gateway that
    fails, then recovers). The receiver checks signatures the way docs/notify.md tells receivers to,
    written independently of notify's own code, and answers 401 to a bad one.
    """

    secret: str
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    tolerance_s: int = 300
    port: int = field(default_factory=free_port)
    script: dict[str, list[int]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    refuse_numbers: set[str] = field(default_factory=set)
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def on(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    def _verify(self, request: Request, body: bytes) -> str:
        ts, sig = request.headers.get("x-huiying-timestamp"), request.headers.get("x-huiying-signature")
        if not ts or not sig:
            return "missing signature headers"
        if abs(self.clock().timestamp() - int(ts)) > self.tolerance_s:
            return "timestamp outside the tolerance"
        expected = hmac.new(self.secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        if not any(hmac.compare_digest(p.strip(), f"v1={expected}") for p in sig.split(",")):
            return "bad signature"
        return "ok"

    async def _sms(self, request: Request) -> Response:
        body = await request.body()
        status = self._next_status("/sms")
        if status == 200 and json.loads(body).get("to") in self.refuse_numbers:
            status = 400
        self.received.append(Received("/sms", dict(request.headers), body, status))
        if status == 200:
            return JSONResponse({"message_id": f"gw-{len(self.received)}"})
        return JSONResponse({"error": "refused" if status < 500 else "unavailable"}, status_code=status)

    async def _hook(self, request: Request) -> Response:
        body = await request.body()
        verdict = self._verify(request, body)
        status = self._next_status("/hook") if verdict == "ok" else 401
        self.received.append(Received("/hook", dict(request.headers), body, status, verdict))
        if status == 200:
            return Response(status_code=status)
        # A body a delivery log must never show, and for 3xx a redirect that must not be followed.
        location = {"Location": f"{self.base}/sms"} if 300 <= status < 400 else {}
        return Response(f"{SECRET_BODY}: internal detail", status_code=status, headers=location)

    def _next_status(self, path: str) -> int:
        queue = self.script.get(path) or []
        return queue.pop(0) if queue else 200

    async def start(self) -> HttpPeer:
        app = Starlette(
            routes=[Route("/sms", self._sms, methods=["POST"]), Route("/hook", self._hook, methods=["POST"])]
        )
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off", log_config=None
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        server = self._server
        await eventually(lambda: server.started, timeout=10, what="the test HTTP peer to listen")
        return self

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
