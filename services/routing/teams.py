"""Teams and category routes, loaded from deploy/teams.yaml."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, model_validator


class Team(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    id: str
    name: dict[str, str]


class Directory(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    teams: list[Team]
    default_team: str
    category_routes: dict[str, str] = {}

    @model_validator(mode="after")
    def _routes_name_known_teams(self) -> Directory:
        known = {t.id for t in self.teams}
        unknown = {self.default_team, *self.category_routes.values()} - known
        if unknown:
            raise ValueError(f"routes name unknown teams: {sorted(unknown)}")
        return self

    def team(self, team_id: str) -> Team:
        return next(t for t in self.teams if t.id == team_id)


def load_directory(path: Path) -> Directory:
    with path.open(encoding="utf-8") as fh:
        return Directory.model_validate(yaml.safe_load(fh))
