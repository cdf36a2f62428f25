"""Sign-in throttling for the API's POST /v1/auth/login and the console's login form.

Checked BEFORE any password hash is computed (argon2 costs real CPU, so unthrottled guessing is also a
resource drain):
- attempts per client address and per account name in a short window (`HUIYING_ROUTING_LOGIN_PER_ADDRESS`,
  `HUIYING_ROUTING_LOGIN_PER_ACCOUNT` per `HUIYING_RATE_LIMIT_WINDOW_S`);
- a temporary lockout of an account after `HUIYING_ROUTING_LOCKOUT_FAILURES` wrong passwords within
  `HUIYING_ROUTING_LOCKOUT_S` (the lockout ends with that window; a correct password does not bypass it).
Every refusal answers 429 with Retry-After; every failure is logged (account name, client address) and
counted (`huiying_routing_signin_failures_total`). The counts are shared by the replicas (shared/limits.py);
the client address honours X-Forwarded-For only from `HUIYING_TRUSTED_PROXIES`.
"""

from __future__ import annotations

import structlog
from starlette.requests import Request

from services.routing import metrics
from services.routing.config import RoutingSettings
from shared.limits import RateLimited, SharedWindows, client_address

log = structlog.get_logger("huiying.routing.signin")


class SignInGuard:
    def __init__(self, settings: RoutingSettings, attempts: SharedWindows, failures: SharedWindows) -> None:
        self.settings = settings
        self.attempts = attempts  # window: HUIYING_RATE_LIMIT_WINDOW_S
        self.failures = failures  # window: HUIYING_ROUTING_LOCKOUT_S

    def address(self, request: Request) -> str:
        return client_address(request.scope, self.settings.trusted_proxy_networks)

    def before(self, request: Request, username: str, where: str) -> None:
        """Raise RateLimited (429) when this address or account may not try now. No I/O, no hash."""
        settings, address = self.settings, self.address(request)
        failed, window = self.failures.count("signin-fail", username)
        if settings.routing_lockout_failures and failed >= settings.routing_lockout_failures:
            metrics.SIGNIN_REFUSED.labels(where=where, reason="locked").inc()
            raise RateLimited(
                "for this account: it is locked after repeated wrong passwords",
                settings.routing_lockout_failures,
                settings.routing_lockout_s,
                window.retry_after_s,
            )
        try:
            self.attempts.hit(
                "signin-addr", address, settings.routing_login_per_address, "to sign in from this address"
            )
            self.attempts.hit("signin-user", username, settings.routing_login_per_account, "to sign in to this account")
        except RateLimited:
            metrics.SIGNIN_REFUSED.labels(where=where, reason="rate").inc()
            log.warning("sign-in throttled", username=username, address=address, where=where)
            raise

    def failed(self, request: Request, username: str, where: str) -> None:
        self.failures.record("signin-fail", username)
        metrics.SIGNIN_FAILURES.labels(where=where).inc()
        log.warning("sign-in failed", username=username, address=self.address(request), where=where)
