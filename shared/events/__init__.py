"""Event contracts shared by the services. Importing this package registers every event type."""

from shared.events import (
    care,
    config,  # config.changed: documents edited in routing's administration
    ledger,  # routing's weekly report (issue 15)
    privacy,
    requests,
    servicedays,
    staff,
    tasks,
)
from shared.events.config import ConfigChanged, config_aggregate_id
from shared.events.envelope import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    Envelope,
    EventData,
    UnknownEvent,
    event_types,
    new_event,
    register,
)
from shared.events.requests import (
    FeedbackReceived,
    Location,
    RequestCancelled,
    RequestNotAccepted,
    RequestSubmitted,
    Resident,
)
from shared.events.staff import StaffChanged, staff_aggregate_id
from shared.events.tasks import TaskDispatched, TaskEvent, TeamRef, WorkItem

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "ConfigChanged",
    "Envelope",
    "EventData",
    "FeedbackReceived",
    "Location",
    "RequestCancelled",
    "RequestNotAccepted",
    "RequestSubmitted",
    "Resident",
    "StaffChanged",
    "TaskDispatched",
    "TaskEvent",
    "TeamRef",
    "UnknownEvent",
    "WorkItem",
    "care",
    "config",
    "config_aggregate_id",
    "event_types",
    "ledger",
    "new_event",
    "privacy",
    "register",
    "requests",
    "servicedays",
    "staff",
    "staff_aggregate_id",
    "tasks",
]
