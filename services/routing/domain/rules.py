"""Routing rules: which team a request goes to, and its priority. Pure: no I/O.

A `RuleSet` is what an admin edits (PUT /v1/rules) and what deploy/routing/rules.yaml seeds as version
1. `decide()` applies one rule set to one request and says which rule made each part of the decision,
as `<rule id>@<version>`, so every task records why it went where it went.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.routing.domain.teams import Directory

Priority = Literal["low", "normal", "high", "urgent"]
PRIORITIES: tuple[Priority, ...] = ("low", "normal", "high", "urgent")
VULNERABILITIES = ("elderly_alone", "disabled", "widowed", "hardship")
RuleId = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,60}$", description="lower-case letters, digits, - and _")
# Every list a client can send is bounded (a rule set is edited by people; these leave ample room).
MAX_RULES = 500
MAX_ITEMS = 200
Name = Annotated[str, StringConstraints(max_length=100)]
Names = Annotated[tuple[Name, ...], Field(max_length=MAX_ITEMS)]


def priority_rank(priority: str) -> int:
    """0 for urgent ... 3 for low: queues sort on it ascending."""
    return len(PRIORITIES) - 1 - PRIORITIES.index(priority)  # type: ignore[arg-type]


class _Words(BaseModel):
    """Words matched case-insensitively: CJK anywhere in the text, Latin words as whole words."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    words: Names = ()

    @cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        parts = []
        for word in self.words:
            w = word.strip()
            if not w:
                continue
            escaped = re.escape(w)
            parts.append(rf"(?<![a-z0-9]){escaped}(?![a-z0-9])" if w.isascii() else escaped)
        return re.compile("|".join(parts), re.IGNORECASE) if parts else None

    def hits(self, text: str) -> int:
        pattern = self._pattern
        return len({m.group(0).lower() for m in pattern.finditer(text)}) if pattern else 0


class Route(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = RuleId
    category: str
    grids: Names = ()
    buildings: Names = ()
    team: str

    def matches(self, category: str, grid: str | None, building: str | None) -> bool:
        if category != self.category:
            return False
        if not self.grids and not self.buildings:
            return True
        return (grid is not None and grid in self.grids) or (building is not None and building in self.buildings)


class TriageRule(_Words):
    id: str = RuleId
    team: str


class Triage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    categories: Names = ("enquiry_complaint", "other")
    rules: Annotated[tuple[TriageRule, ...], Field(max_length=MAX_RULES)] = ()


class PriorityRule(_Words):
    id: str = RuleId
    categories: Names = ()  # empty: every category
    attributes: Annotated[dict[Name, Names], Field(max_length=50)] = {}
    vulnerability: tuple[Literal["elderly_alone", "disabled", "widowed", "hardship"], ...] = ()
    at_least: Priority | None = None
    raise_: int = Field(0, alias="raise", ge=0, le=3)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _has_effect_and_condition(self) -> PriorityRule:
        if self.at_least is None and self.raise_ == 0:
            raise ValueError(f"priority rule {self.id}: give `at_least` (a priority) or `raise` (levels)")
        if not (self.words or self.attributes or self.vulnerability):
            raise ValueError(f"priority rule {self.id}: give `words`, `attributes` or `vulnerability`")
        return self

    def applies(self, request: RoutingInput) -> bool:
        if self.categories and request.category not in self.categories:
            return False
        if self.words and self.hits(request.text):
            return True
        for code, values in self.attributes.items():
            answer = request.attributes.get(code)
            answers = answer if isinstance(answer, list) else [answer] if answer is not None else []
            if any(str(a).lower() in {v.lower() for v in values} for a in answers):
                return True
        return bool(set(self.vulnerability) & set(request.vulnerability))


class RuleSet(BaseModel):
    """One version of the rules (what PUT /v1/rules accepts)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    default_team: str
    routes: Annotated[tuple[Route, ...], Field(max_length=MAX_RULES)] = ()
    triage: Triage = Triage()
    priority: Annotated[tuple[PriorityRule, ...], Field(max_length=MAX_RULES)] = ()

    @model_validator(mode="after")
    def _unique_ids(self) -> RuleSet:
        ids = [r.id for r in self.routes] + [r.id for r in self.triage.rules] + [r.id for r in self.priority]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"rule ids must be unique across routes, triage and priority; repeated: {dupes}")
        return self

    def problems(self, directory: Directory) -> list[tuple[str, str]]:
        """(field, message) for every reference to a team or grid the directory does not know."""
        out: list[tuple[str, str]] = []
        known_grids = {g.id for g in directory.areas.grids}
        if not directory.has(self.default_team):
            out.append(("default_team", f"unknown team {self.default_team!r}"))
        for i, route in enumerate(self.routes):
            if not directory.has(route.team):
                out.append((f"routes.{i}.team", f"unknown team {route.team!r}"))
            for grid in route.grids:
                if grid not in known_grids:
                    out.append((f"routes.{i}.grids", f"unknown grid {grid!r}"))
        for i, rule in enumerate(self.triage.rules):
            if not directory.has(rule.team):
                out.append((f"triage.rules.{i}.team", f"unknown team {rule.team!r}"))
        return out


@dataclass(frozen=True)
class RoutingInput:
    """What the rules look at, taken from `request.submitted` (or a dry run)."""

    category: str
    description: str = ""
    building: str | None = None
    grid: str | None = None
    attributes: dict[str, str | list[str]] = field(default_factory=dict)
    vulnerability: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return self.description


@dataclass(frozen=True)
class RoutingDecision:
    team_id: str
    team_rule: str  # "<id>@<version>", or "default@<version>"
    priority: Priority
    priority_rules: tuple[str, ...]
    version: int


def decide(request: RoutingInput, rules: RuleSet, version: int, directory: Directory) -> RoutingDecision:
    team_id, rule = _team(request, rules, directory)
    priority, applied = _priority(request, rules)
    return RoutingDecision(
        team_id=team_id,
        team_rule=f"{rule}@{version}",
        priority=priority,
        priority_rules=tuple(f"{r}@{version}" for r in applied),
        version=version,
    )


def _team(request: RoutingInput, rules: RuleSet, directory: Directory) -> tuple[str, str]:
    def serves(team_id: str) -> bool:
        return directory.has(team_id) and directory.team(team_id).serves.covers(request.grid, request.building)

    known_category = any(r.category == request.category for r in rules.routes)
    if request.category in rules.triage.categories or not known_category:
        # The most distinct words wins; ties go to the rule listed first.
        best: tuple[int, str, str] | None = None
        for rule in rules.triage.rules:
            hits = rule.hits(request.text)
            if hits and serves(rule.team) and (best is None or hits > best[0]):
                best = (hits, rule.team, rule.id)
        if best is not None:
            return best[1], best[2]
    for route in rules.routes:
        if route.matches(request.category, request.grid, request.building) and serves(route.team):
            return route.team, route.id
    return rules.default_team, "default"


def _priority(request: RoutingInput, rules: RuleSet) -> tuple[Priority, list[str]]:
    level = PRIORITIES.index("normal")
    applied: list[str] = []
    for rule in rules.priority:
        if not rule.applies(request):
            continue
        if rule.at_least is not None:
            level = max(level, PRIORITIES.index(rule.at_least))
        level = min(level + rule.raise_, len(PRIORITIES) - 1)
        applied.append(rule.id)
    return PRIORITIES[level], applied
