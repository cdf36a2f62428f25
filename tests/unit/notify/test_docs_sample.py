"""The receiver code in docs/notify.md verifies what notify signs, and rejects forgeries and replays."""

import re
import time
from pathlib import Path
from typing import Any

from services.notify.domain.signing import sign

DOC = Path(__file__).resolve().parents[3] / "docs" / "notify.md"


def receiver() -> dict[str, Any]:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    (sample,) = [b for b in blocks if "def verify_huiying_webhook" in b]
    namespace: dict[str, Any] = {}
    exec(compile(sample, str(DOC), "exec"), namespace)
    return namespace


def headers(secret: str, body: bytes, ts: int, delivery: str = "e1:webhook:resident") -> dict[str, str]:
    signed = {k.lower(): v for k, v in sign(secret, ts, body).items()}
    return {**signed, "x-huiying-delivery": delivery}


def test_the_documented_receiver_accepts_a_genuine_webhook_once() -> None:
    verify = receiver()["verify_huiying_webhook"]
    body = '{"event_type":"task.resolved","text":"已办结"}'.encode()
    h = headers("s3cret", body, int(time.time()))
    assert verify("s3cret", h, body) is True
    assert verify("s3cret", h, body) is False  # the same delivery again: a replay inside the window


def test_the_documented_receiver_rejects_forgeries_tampering_and_stale_requests() -> None:
    verify = receiver()["verify_huiying_webhook"]
    body = b'{"event_type":"task.resolved"}'
    now = int(time.time())
    assert verify("s3cret", headers("guess", body, now, "d1"), body) is False
    assert verify("s3cret", headers("s3cret", body, now, "d2"), body + b" ") is False
    assert verify("s3cret", headers("s3cret", body, now - 301, "d3"), body) is False
    assert verify("s3cret", headers("s3cret", body, now + 301, "d4"), body) is False
