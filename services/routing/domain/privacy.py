"""Who sees a resident's phone whole (个人信息保护法, data minimisation). Pure.

The task's assignee (the one who calls the resident) sees it; everyone else who may see the task, leads and
supervisors included, sees `138****8000` and reveals it with a logged action (POST
/v1/tasks/{id}/reveal-phone; services/routing/api/privacy.py)."""

from __future__ import annotations

from typing import Any

from services.routing.domain.model import Actor, Task
from shared.redact import mask_phone, redact_text


def sees_phone(task: Task, actor: Actor) -> bool:
    return task.assignee is not None and task.assignee == actor.username


def resident_for(task: Task, actor: Actor) -> dict[str, Any] | None:
    """The resident as `actor` sees them: `phone_masked` says the phone shown is masked (reveal it to call)."""
    if task.resident is None:
        return None
    phone = task.resident.get("phone")
    if not phone or sees_phone(task, actor):
        return {**task.resident, "phone_masked": False}
    return {**task.resident, "phone": mask_phone(str(phone)), "phone_masked": True}


def description_for(task: Task, actor: Actor) -> str:
    """The resident's words, with the phones they typed in masked for everyone but the assignee."""
    return task.description if sees_phone(task, actor) else redact_text(task.description)
