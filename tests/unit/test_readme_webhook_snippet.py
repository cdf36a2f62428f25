"""The webhook verification sample in the README works against what notify really sends."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from services.notify.domain.signing import sign

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_verifier() -> Any:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    [code] = [b for b in blocks if "def verify_huiying_webhook" in b]
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    return namespace["verify_huiying_webhook"]


def test_the_readme_sample_accepts_a_genuine_webhook_once_and_refuses_forgeries() -> None:
    verify = readme_verifier()
    body = b'{"event_type":"task.resolved","tracking_code":"HY0000000001"}'
    now = int(time.time())
    headers = {k.lower(): v for k, v in sign("s3cret", now, body).items()} | {"x-huiying-delivery": "d1"}
    seen: set[str] = set()
    assert verify("s3cret", headers, body, seen) is True
    assert verify("s3cret", headers, body, seen) is False  # the same delivery again: a retry or a replay
    fresh = headers | {"x-huiying-delivery": "d2"}
    assert verify("wrong", fresh, body, seen) is False  # another secret
    assert verify("s3cret", fresh, body + b" ", seen) is False  # a tampered body
    old = {k.lower(): v for k, v in sign("s3cret", now - 3600, body).items()} | {"x-huiying-delivery": "d3"}
    assert verify("s3cret", old, body, seen) is False  # too old
