"""Tracking codes: the resident's proof of ownership of a request (intake issues, others check)."""

from __future__ import annotations

import re
import secrets

# Crockford base32: no I, L, O, U, so codes read aloud over the hotline are unambiguous.
TRACKING_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TRACKING_LENGTH = 10  # 50 random bits: not guessable, so the code can stand as proof
_CONFUSABLE = str.maketrans("ILO", "110")
_TRACKING_RE = re.compile(rf"^HY[{TRACKING_ALPHABET}]{{{TRACKING_LENGTH}}}$")


def code_groups(code: str) -> list[str]:
    """A code in the groups it is shown and read aloud in: HY 7K3M 9QX2 RT (a page never breaks a group)."""
    return [part for part in (code[:2], code[2:6], code[6:10], code[10:]) if part]


def new_tracking_code() -> str:
    return "HY" + "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(TRACKING_LENGTH))


def normalize_tracking_code(raw: str) -> str | None:
    """Accept lower case, spaces and dashes, and the letters people confuse with digits."""
    code = re.sub(r"[\s-]", "", raw[:40]).upper()
    code = code[:2] + code[2:].translate(_CONFUSABLE)
    return code if _TRACKING_RE.match(code) else None
