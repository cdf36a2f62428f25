"""What every adapter shares: the failure type and how an HTTP answer is classified."""

from __future__ import annotations

from http import HTTPStatus

import httpx

from shared.outbound import AllowList, Pinned, RefusedURL, checked_target
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
    """Return for 2xx; raise `SendFailed` (transient for 408/425/429/5xx, permanent otherwise).

    The message keeps the status and its standard reason only: never the answer's body, which could carry
    whatever the receiver (or a service it was pointed at) chose to show in the staff delivery log."""
    status = response.status_code
    if 200 <= status < 300:
        return
    reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
    message = f"{what} answered HTTP {status}" + (f" {reason}" if reason else "")
    if status in _TRANSIENT_STATUS or status >= 500:
        raise SendFailed(message, permanent=False, retry_after_s=_retry_after(response))
    if 300 <= status < 400:
        message += " (redirects are not followed; configure the final URL)"
    raise SendFailed(message, permanent=True)


def http_failure(exc: httpx.HTTPError | httpx.InvalidURL, what: str) -> SendFailed:
    """A request that got no answer: unreachable or slow is transient, a malformed URL is permanent."""
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return SendFailed(f"{what}: invalid URL ({exc})", permanent=True)
    return SendFailed(f"{what} unreachable: {type(exc).__name__}: {exc}", permanent=False)


async def pinned_target(url: str, what: str, *, require_https: bool, allow: AllowList) -> Pinned:
    """The URL checked at use (shared/outbound.py) and pinned to the checked address; a refused URL is a
    permanent failure (retrying cannot make a private address public)."""
    try:
        return await checked_target(url, require_https=require_https, allow=allow)
    except RefusedURL as exc:
        raise SendFailed(f"{what} refused: {exc}", permanent=True) from exc


async def post_pinned(
    http: httpx.AsyncClient, target: Pinned, *, headers: dict[str, str], timeout_s: float, what: str, **body: object
) -> httpx.Response:
    """POST to the pinned address, speaking to the original host (Host header, TLS name); no redirects."""
    try:
        return await http.post(
            target.url,
            headers={**headers, "Host": target.host_header},
            extensions=target.extensions,
            timeout=timeout_s,
            follow_redirects=False,
            **body,  # type: ignore[arg-type]
        )
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise http_failure(exc, what) from exc
