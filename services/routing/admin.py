"""Administration (issue 15): the SLA limits, the holiday calendar and the teams and areas as versioned
documents in routing's database (shared/configstore.py), edited by admins through /v1/admin and the
console's admin pages, each change with its audit entry (who, when, before, after).

Every replica keeps a parsed copy (`LiveConfig`) and swaps it into the service's `RoutingConfig` when a
version moves: the replica that saved a change at once, every other one within HUIYING_CONFIG_REFRESH_S
(3 s by default). No restart. The files in deploy/ are version 1 of each document.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from pydantic import ValidationError

from services.routing.admin_calendar import CalendarBody, import_year, parse_calendar, runs_out, seed_body
from services.routing.config import RoutingConfig, RoutingSettings
from services.routing.domain.errors import Invalid
from services.routing.domain.model import Actor
from services.routing.domain.sla import SlaPolicy
from services.routing.domain.teams import Directory
from services.routing.service import RoutingService
from shared.catalogue import Catalogue
from shared.configstore import ConfigStore, ConfigVersion, LiveConfig
from shared.events import ConfigChanged, Envelope, config_aggregate_id, new_event
from shared.message_templates import Templates

Clock = Callable[[], datetime]
# The documents routing's own replicas use; the console edits them in this order.
NAMES = ("calendar", "sla", "teams")
# Documents edited here for another service, each new version sent to it as config.changed.
DELIVERED = {"templates": "notify", "catalogue": "intake"}
ALL_NAMES = (*NAMES, *DELIVERED)


class BadConfig(ValueError):
    """An edit that does not check: each problem as {loc, msg, type}, answered as a 422 naming the field.
    `loc` is the place in the document (an import's problems start with "file")."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors))
        self.errors = errors


def _errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [{"loc": tuple(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]


def _problem(field: str, message: str) -> BadConfig:
    return BadConfig([{"loc": tuple(field.split(".")) if field else (), "msg": message, "type": "value_error"}])


def _read_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def json_safe(value: Any) -> Any:
    """YAML's dates and times as ISO text (the body is stored and shown as JSON)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


class AdminService:
    def __init__(self, store: ConfigStore, routing: RoutingService, settings: RoutingSettings, clock: Clock) -> None:
        self.store, self.routing, self.settings, self.clock = store, routing, settings, clock
        self.timezone = settings.timezone
        self.live = LiveConfig(
            store,
            {
                "calendar": lambda body: parse_calendar(body, self.timezone),
                "sla": SlaPolicy.model_validate,
                "teams": Directory.model_validate,
            },
            self._apply,
        )
        self.listeners: list[Callable[[RoutingConfig], None]] = []  # the container keeps its `config` in step

    # -- start ----------------------------------------------------------------------------------------

    async def seed_and_load(self) -> None:
        """Version 1 of each document from its file (once), then this replica's copy of the newest ones."""
        s, now = self.settings, self.clock()
        await self.store.ensure_indexes()
        seeds = {
            "calendar": (lambda: seed_body(_read_yaml(s.routing_calendar_path)), s.routing_calendar_path),
            "sla": (lambda: json_safe(_read_yaml(s.routing_sla_path)), s.routing_sla_path),
            "teams": (lambda: json_safe(_read_yaml(s.teams_path)), s.teams_path),
            "templates": (lambda: json_safe(_read_yaml(s.routing_templates_path)), s.routing_templates_path),
            "catalogue": (lambda: json_safe(_read_yaml(s.routing_catalogue_path)), s.routing_catalogue_path),
        }
        heads = await self.store.head_versions()
        for name, (body, path) in seeds.items():
            if name not in heads:
                await self.store.ensure_seeded(name, body(), now, f"{path.parent.name}/{path.name}")
        await self.live.refresh()

    def _apply(self, values: dict[str, Any]) -> None:
        config = self.routing.config
        changes: dict[str, Any] = {}
        if "calendar" in values:
            changes["calendar"] = values["calendar"]
        if "sla" in values:
            changes["policy"] = values["sla"]
        if "teams" in values:
            changes["directory"] = values["teams"]
        new = replace(config, **changes)
        self.routing.config = new
        for listener in self.listeners:
            listener(new)

    # -- reading --------------------------------------------------------------------------------------

    async def current(self, name: str) -> ConfigVersion:
        found = await self.store.latest(name) if name in ALL_NAMES else None
        if found is None:
            raise LookupError(f"no configuration document {name!r}; one of {', '.join(ALL_NAMES)}")
        return found

    async def history(self, name: str | None, limit: int = 50) -> list[ConfigVersion]:
        return await self.store.history(name, limit)

    async def calendar_warning(self) -> dict[str, Any] | None:
        found = await self.current("calendar")
        today = self.clock().astimezone(ZoneInfo(self.timezone)).date()
        return runs_out(found.body, today)

    # -- checking and saving --------------------------------------------------------------------------

    def check(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """The body as it will be stored, or BadConfig naming each wrong field (nothing is stored then)."""
        try:
            if name == "calendar":
                checked = CalendarBody.model_validate(body)
                parse_calendar(checked.dump(), self.timezone)
                return checked.dump()
            if name == "sla":
                SlaPolicy.model_validate(body)
                return body
            if name == "teams":
                directory = Directory.model_validate(body)
                self._check_teams(directory)
                return body
            if name == "templates":
                try:
                    Templates(body, origin="templates")  # what notify will compile: a mistake names its place
                except (TypeError, AttributeError, KeyError) as exc:  # a shape the compiler does not expect
                    raise _problem("", f"not the shape of deploy/notify/templates.yaml ({exc})") from exc
                return body
            if name == "catalogue":
                Catalogue.model_validate(body)  # what intake will take requests with
                return body
        except ValidationError as exc:
            raise BadConfig(_errors(exc)) from exc
        except ValueError as exc:
            if isinstance(exc, BadConfig):
                raise
            raise _problem("", str(exc)) from exc
        raise LookupError(f"no configuration document {name!r}; one of {', '.join(ALL_NAMES)}")

    def _check_teams(self, directory: Directory) -> None:
        """Teams the rest of routing names must stay: the call-back desk, and the teams the rules send to."""
        config = self.routing.config
        if not directory.has(config.followup.desk_team):
            raise _problem("teams", f"keep team {config.followup.desk_team!r}: it is the call-back desk")
        gone = {t.id for t in config.directory.teams} - {t.id for t in directory.teams}
        if gone:
            raise _problem(
                "teams",
                f"removing {sorted(gone)} is not possible here: tasks, staff and rules name it; "
                "move its work and rules first (renaming a team's `name` is fine)",
            )

    async def save(
        self, name: str, base_version: int, body: dict[str, Any], actor: Actor, note: str | None = None
    ) -> ConfigVersion:
        checked, now = self.check(name, body), self.clock()
        events = _delivery(now) if name in DELIVERED else None
        version = await self.store.save(name, base_version, checked, actor.username, now, note, events)
        await self.live.refresh()  # this replica at once; the others within the refresh interval
        return version

    async def import_calendar(self, year: int, text: str, fmt: str, base_version: int, actor: Actor) -> ConfigVersion:
        current = await self.current("calendar")
        try:
            body = import_year(current.body, year, text, fmt)
        except ValidationError as exc:
            raise BadConfig([{**e, "loc": ("file", *e["loc"])} for e in exc.errors()]) from exc
        except (ValueError, yaml.YAMLError) as exc:
            raise BadConfig([{"loc": ("file",), "msg": str(exc), "type": "value_error"}]) from exc
        return await self.save("calendar", base_version, body, actor, f"imported {year} ({fmt})")


def _delivery(now: datetime) -> Callable[[ConfigVersion], list[Envelope]]:
    """The version's config.changed, written with it (its outbox) and published after: the receiving
    service stores it in its own database; `seq` is the version, so a late or repeated one changes nothing."""

    def events(version: ConfigVersion) -> list[Envelope]:
        data = ConfigChanged(
            request_id=config_aggregate_id(version.name),
            name=version.name,
            version=version.version,
            body=version.body,
            changed_by=version.changed_by,
            changed_at=version.changed_at,
        )
        return [new_event(data, producer="routing", seq=version.version, occurred_at=now)]

    return events


def as_invalid(exc: BadConfig) -> Invalid:
    first = exc.errors[0]
    return Invalid(".".join(map(str, first["loc"])), first["msg"])
