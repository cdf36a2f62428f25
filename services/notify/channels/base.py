"""What every adapter shares: the failure type and how an HTTP answer is classified."""

from __future__ import annotations

import httpx

from shared.redact import redact_text

# Answers that mean "try again later": timeouts, too early, rate limits, server trouble.
_TRANSIENT_STATUS = {408, 425, 429}


class SendFailed(Exception):
    """One attempt failed. `permanent`: retrying cannot help (bad address, refused, 4xx)."""

    def __init__(self, message: str, *, permanent: bool, retry_after_s: float = 0.0) -> None:
        # Gateways echo numbers and addresses in errors: the message is stored and logged, so mask them.
        super().__init__(redact_text(message)[:500])
        self.permanent = permanent
        self.retry_after_s = retry_after_s


def _retry_after(response: httpx.Response) -> float:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return 0.0  # an HTTP date: rare from gateways; the backoff decides


def classify_http(response: httpx.Response, what: str) -> None:
    """Return for 2xx; raise `SendFailed` (transient for 408/425/429/5xx, permanent otherwise)."""
    status = response.status_code
    if 200 <= status < 300:
        return
    detail = response.text[:200].strip()
    message = f"{what} answered HTTP {status}" + (f": {detail}" if detail else "")
    if status in _TRANSIENT_STATUS or status >= 500:
        raise SendFailed(message, permanent=False, retry_after_s=_retry_after(response))
    if 300 <= status < 400:
        message += f" (redirects are not followed; configure the final URL, not {response.headers.get('location')})"
    raise SendFailed(message, permanent=True)


def http_failure(exc: httpx.HTTPError | httpx.InvalidURL, what: str) -> SendFailed:
    """A request that got no answer: unreachable or slow is transient, a malformed URL is permanent."""
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return SendFailed(f"{what}: invalid URL ({exc})", permanent=True)
    return SendFailed(f"{what} unreachable: {type(exc).__name__}: {exc}", permanent=False)
