"""The event envelope (docs/architecture.md, "Events") and the registry of typed events.

Consumers are tolerant readers: unknown fields in `data` are ignored, so a producer can add an
optional field without a version bump. Removing or changing a field bumps the event's `VERSION`.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"


class EventData(BaseModel):
    """Base of every event payload. Subclasses set TYPE and VERSION."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    TYPE: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1
    request_id: str


_REGISTRY: dict[str, type[EventData]] = {}


def register[T: type[EventData]](cls: T) -> T:
    if not cls.TYPE or cls.TYPE in _REGISTRY:
        raise ValueError(f"event type {cls.TYPE!r} is empty or registered twice")
    _REGISTRY[cls.TYPE] = cls
    return cls


def event_types() -> dict[str, type[EventData]]:
    return dict(_REGISTRY)


class Envelope(BaseModel):
    """What travels on the wire. `data` is the typed payload, validated by `Envelope.payload()`."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: uuid.UUID
    type: str = Field(pattern=r"^[a-z_]+\.[a-z_]+$")
    version: int = Field(1, ge=1)
    occurred_at: AwareDatetime
    producer: str
    correlation_id: str = Field(description="the request id the event belongs to")
    causation_id: str | None = Field(None, description="event_id of the event that caused this one")
    seq: int = Field(ge=1, description="per request and producer, strictly increasing")
    data: dict[str, Any]

    def payload(self) -> EventData:
        """The typed payload. Raises `UnknownEvent` or `pydantic.ValidationError`."""
        cls = _REGISTRY.get(self.type)
        if cls is None:
            raise UnknownEvent(self.type)
        return cls.model_validate(self.data)

    def to_document(self) -> dict[str, Any]:
        """JSON-compatible dict, the form kept in an outbox and put on the wire."""
        return self.model_dump(mode="json")

    def to_bytes(self) -> bytes:
        return json.dumps(self.to_document(), ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, body: bytes) -> Envelope:
        return cls.model_validate_json(body)


class UnknownEvent(Exception):
    def __init__(self, event_type: str) -> None:
        super().__init__(f"no event model is registered for type {event_type!r}")
        self.event_type = event_type


def new_event(
    data: EventData,
    *,
    producer: str,
    seq: int,
    causation_id: str | None = None,
    occurred_at: datetime | None = None,
    event_id: uuid.UUID | None = None,
) -> Envelope:
    if type(data).TYPE not in _REGISTRY:
        raise UnknownEvent(type(data).TYPE)
    return Envelope(
        event_id=event_id or uuid.uuid4(),
        type=type(data).TYPE,
        version=type(data).VERSION,
        occurred_at=occurred_at or datetime.now(UTC),
        producer=producer,
        correlation_id=data.request_id,
        causation_id=causation_id,
        seq=seq,
        data=data.model_dump(mode="json"),
    )


__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "Envelope",
    "EventData",
    "UnknownEvent",
    "ValidationError",
    "event_types",
    "new_event",
    "register",
]
