"""Events produced by routing's administration about configuration documents (`config.*`). Admins edit, in
routing's console, documents other services use (notify's message templates, intake's catalogue); each new
version travels as `config.changed` and the receiving service stores it in its own database
(shared/configstore.py), where its replicas pick it up without a restart."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from shared.events.envelope import EventData, register


def config_aggregate_id(name: str) -> str:
    """What a config event carries in `request_id` (and the envelope's `correlation_id`): the document."""
    return f"config:{name}"


@register
class ConfigChanged(EventData):
    """A new version of a configuration document. `request_id` is `config:<name>`; the envelope's `seq` is
    the version, so a receiver stores each version once and never lets an older one replace a newer."""

    TYPE = "config.changed"
    name: str = Field(description="the document: templates (notify) or catalogue (intake)")
    version: int = Field(ge=1)
    body: dict[str, Any] = Field(description="the whole document, in the shape of its file in deploy/")
    changed_by: str
    changed_at: datetime
