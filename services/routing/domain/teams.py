"""Teams and the areas they serve, as deploy/teams.yaml describes them (services/routing/config.py reads it). Pure."""

from __future__ import annotations

import re
from datetime import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.routing.domain.calendar import WorkingCalendar, parse_hours, parse_weekdays
from shared.events import TeamRef


class Grid(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    name: dict[str, str] = {}
    buildings: tuple[str, ...] = ()


class Areas(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    grids: tuple[Grid, ...] = ()


class Serves(BaseModel):
    """The areas a team serves: `all`, or some grids and/or buildings."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    all: bool = False
    grids: frozenset[str] = frozenset()
    buildings: frozenset[str] = frozenset()

    def covers(self, grid: str | None, building: str | None) -> bool:
        """True when the team serves the area; an unknown area is served by everyone."""
        if self.all or (grid is None and building is None):
            return True
        return (grid is not None and grid in self.grids) or (building is not None and building in self.buildings)


class Team(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,40}$")
    name: dict[str, str]
    serves: Serves = Serves(all=True)
    hours: tuple[tuple[time, time], ...] | None = None
    days: frozenset[int] | None = None
    assignment: Literal["load", "queue"] = "queue"
    # The resident's phone in this team's work items (on the broker): masked 138****8000 (default), full
    # (the team's own system calls residents back), or none. Phones in the description follow the same choice.
    work_item_phone: Literal["masked", "full", "none"] = "masked"
    # Reply review (审核): a member's resolution waits for a lead's approval, for every task of the team
    # (`review: true`) or only for some kinds (`review_kinds`). Off by default.
    review: bool = False
    review_kinds: frozenset[str] = frozenset()

    @field_validator("serves", mode="before")
    @classmethod
    def _serves(cls, value: object) -> object:
        return {"all": True} if value in ("all", None) else value

    @field_validator("hours", mode="before")
    @classmethod
    def _hours(cls, value: object) -> object:
        return parse_hours(value) if isinstance(value, list) else value  # type: ignore[arg-type]

    @field_validator("days", mode="before")
    @classmethod
    def _days(cls, value: object) -> object:
        return parse_weekdays(value) if isinstance(value, list) else value

    @property
    def ref(self) -> TeamRef:
        return TeamRef(id=self.id, name=self.name)


_BUILDING_IN_TEXT = re.compile(r"(\d+)\s*(?:号楼|栋|幢|号院)|(?:building|bldg\.?|block)\s*(\d+)", re.IGNORECASE)
_DIGITS = re.compile(r"\d+")


def normalize_building(building: str | None, address: str | None = None) -> str | None:
    """ "3号楼", "3", "Building 3" -> "3"; else the building found in the address; else None."""
    if building and building.strip():
        found = _DIGITS.search(building)
        return (found.group(0).lstrip("0") or "0") if found else building.strip()
    if address:
        match = _BUILDING_IN_TEXT.search(address)
        if match:
            digits = match.group(1) or match.group(2)
            return digits.lstrip("0") or "0"
    return None


class Directory(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    teams: tuple[Team, ...]
    areas: Areas = Areas()
    # Reply review (审核) for these kinds (service codes) in whichever team handles them.
    review_kinds: frozenset[str] = frozenset()

    @model_validator(mode="after")
    def _consistent(self) -> Directory:
        ids = [t.id for t in self.teams]
        if len(set(ids)) != len(ids):
            raise ValueError("team ids must be unique")
        known_grids = {g.id for g in self.areas.grids}
        for team in self.teams:
            unknown = team.serves.grids - known_grids
            if unknown:
                raise ValueError(f"team {team.id} serves unknown grids {sorted(unknown)}; add them under areas.grids")
        return self

    def has(self, team_id: str | None) -> bool:
        return team_id is not None and any(t.id == team_id for t in self.teams)

    def team(self, team_id: str) -> Team:
        for team in self.teams:
            if team.id == team_id:
                return team
        raise KeyError(team_id)

    def ref(self, team_id: str | None) -> TeamRef | None:
        return self.team(team_id).ref if team_id is not None and self.has(team_id) else None

    def grid_of(self, building: str | None) -> str | None:
        if building is None:
            return None
        for grid in self.areas.grids:
            if building in grid.buildings:
                return grid.id
        return None

    def needs_review(self, team_id: str | None, service_code: str) -> bool:
        """Whether a member's reply on this team's task of this kind waits for a lead (审核)."""
        if service_code in self.review_kinds:
            return True
        if team_id is None or not self.has(team_id):
            return False
        team = self.team(team_id)
        return team.review or service_code in team.review_kinds

    def calendar(self, team_id: str | None, base: WorkingCalendar) -> WorkingCalendar:
        if team_id is None or not self.has(team_id):
            return base
        team = self.team(team_id)
        return base.with_hours(team.hours, team.days)
