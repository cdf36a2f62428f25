"""Intake's service catalogue as a versioned document (shared/configstore.py, in intake's own database):
version 1 is HUIYING_CATALOGUE_PATH, later versions are edited in routing's administration pages and arrive as
`config.changed`. Every replica swaps the new catalogue (and the door's refusals compiled from it) in when
the version moves: the replica that stored the event at once, the others within HUIYING_CONFIG_REFRESH_S.
No restart. (The Open311 OpenAPI document lists the codes intake started with until the next start.)"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog
from pydantic import ValidationError

from services.intake.config import IntakeConfig
from services.intake.domain.catalogue import Catalogue
from services.intake.domain.triage import Triage
from shared.bus import Poison
from shared.configstore import ConfigStore, LiveConfig
from shared.events import ConfigChanged, Envelope, EventData

NAME = "catalogue"
log = structlog.get_logger("huiying.intake")


def _parse(body: dict[str, Any]) -> Catalogue:
    try:
        return Catalogue.model_validate(body)
    except ValidationError as exc:
        raise ValueError(str(exc)) from exc


class LiveCatalogue:
    """`apply(config)` is called with the config carrying the new catalogue: bootstrap hands it on."""

    def __init__(self, store: ConfigStore, apply: Callable[[Catalogue, Triage], None]) -> None:
        self.store, self._apply_to = store, apply
        self.live = LiveConfig(store, {NAME: _parse}, self._apply)

    def _apply(self, values: dict[str, Any]) -> None:
        catalogue: Catalogue = values[NAME]
        self._apply_to(catalogue, Triage(catalogue))
        log.info("catalogue version in use", version=self.live.versions.get(NAME))

    async def seed_and_load(self, path: Path, now: datetime) -> None:
        await self.store.seed_from_file(NAME, path, now, path.name)
        await self.live.refresh()

    async def __call__(self, envelope: Envelope, data: EventData) -> None:
        """config.changed from routing: stored once (idempotent), then used at once on this replica."""
        if not isinstance(data, ConfigChanged):
            raise Poison(f"{envelope.type} is not config.changed")
        if data.name != NAME:
            return  # a document for another service
        try:
            _parse(data.body)
        except ValueError as exc:
            raise Poison(f"catalogue version {data.version} does not parse: {exc}") from exc
        await self.store.receive(NAME, data.version, data.body, data.changed_by, data.changed_at)
        await self.live.refresh()


def with_catalogue(config: IntakeConfig, catalogue: Catalogue, triage: Triage) -> IntakeConfig:
    return replace(config, catalogue=catalogue, triage=triage)
