"""The errors the lifecycle raises; services/routing/api/errors.py maps them to 404 / 403 / 409 / 422."""

from __future__ import annotations


class LifecycleError(Exception):
    pass


class NotVisible(LifecycleError):
    """The caller may not know the task exists (another team's work): 404."""


class Forbidden(LifecycleError):
    """The caller sees the task but may not do this: 403."""


class IllegalTransition(LifecycleError):
    """The action is not possible in the task's status: 409, naming what is."""

    def __init__(self, action: str, status: str, allowed: list[str], yours: list[str]) -> None:
        super().__init__(
            f"`{action}` is not possible while the task is `{status}`; possible now: {', '.join(allowed) or 'nothing'}"
        )
        self.action, self.status, self.allowed, self.yours = action, status, allowed, yours


class Conflict(LifecycleError):
    """The action is possible in this status but something else is in the way (409)."""

    def __init__(self, message: str, allowed: list[str] | None = None, yours: list[str] | None = None) -> None:
        super().__init__(message)
        self.allowed, self.yours = allowed or [], yours or []


class Invalid(LifecycleError):
    """A parameter is wrong (422), naming the field and the fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message
