"""Notify's message templates as a versioned document (shared/configstore.py, in notify's own database):
version 1 is HUIYING_TEMPLATES_PATH, later versions are edited in routing's administration pages and arrive as
`config.changed`. Every replica swaps the compiled templates into the service when the version moves: the
replica that stored the event at once, the others within HUIYING_CONFIG_REFRESH_S. No restart."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import structlog

from services.notify.domain.templates import TemplateConfigError, Templates
from services.notify.service import NotifyService
from shared.bus import Poison
from shared.configstore import ConfigStore, LiveConfig
from shared.events import ConfigChanged, Envelope, EventData

NAME = "templates"
log = structlog.get_logger("huiying.notify")


def _compile(body: dict[str, Any]) -> Templates:
    try:
        return Templates(body, origin=f"{NAME} (database)")
    except TemplateConfigError as exc:
        raise ValueError(str(exc)) from exc


class LiveTemplates:
    def __init__(self, store: ConfigStore, service: NotifyService) -> None:
        self.store, self.service = store, service
        self.live = LiveConfig(store, {NAME: _compile}, self._apply)

    def _apply(self, values: dict[str, Any]) -> None:
        self.service.templates = values[NAME]
        log.info("message templates version in use", version=self.live.versions.get(NAME))

    async def seed_and_load(self, path: Path, now: datetime) -> None:
        """Version 1 from the file when the store has none, then the newest version this replica can use."""
        await self.store.seed_from_file(NAME, path, now, f"{path.parent.name}/{path.name}")
        await self.live.refresh()

    async def __call__(self, envelope: Envelope, data: EventData) -> None:
        """config.changed from routing: stored once (idempotent), then used at once on this replica."""
        if not isinstance(data, ConfigChanged):
            raise Poison(f"{envelope.type} is not config.changed")
        if data.name != NAME:
            return  # a document for another service
        try:
            _compile(data.body)  # routing checked it with the same code; a message that still fails is parked
        except ValueError as exc:
            raise Poison(f"templates version {data.version} does not compile: {exc}") from exc
        await self.store.receive(NAME, data.version, data.body, data.changed_by, data.changed_at)
        await self.live.refresh()
