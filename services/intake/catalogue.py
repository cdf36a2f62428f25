"""The service catalogue: the request kinds, loaded from deploy/catalogue.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.events import LANGUAGES


def _require_languages(value: dict[str, str]) -> dict[str, str]:
    missing = [lang for lang in LANGUAGES if not value.get(lang)]
    if missing:
        raise ValueError(f"text is missing in {', '.join(missing)}")
    return value


class Service(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,40}$")
    group: str
    name: dict[str, str]
    description: dict[str, str]
    keywords: list[str] = []
    questions: list[dict[str, Any]] = []

    _names = field_validator("name", "description")(_require_languages)


class Catalogue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    services: list[Service]

    @field_validator("services")
    @classmethod
    def _unique(cls, services: list[Service]) -> list[Service]:
        codes = [s.code for s in services]
        dupes = {c for c in codes if codes.count(c) > 1}
        if dupes:
            raise ValueError(f"duplicate service codes: {sorted(dupes)}")
        return services

    def get(self, code: str) -> Service | None:
        return next((s for s in self.services if s.code == code), None)

    @property
    def codes(self) -> list[str]:
        return [s.code for s in self.services]


def load_catalogue(path: Path) -> Catalogue:
    with path.open(encoding="utf-8") as fh:
        return Catalogue.model_validate(yaml.safe_load(fh))
