"""`.env.example` lists every setting of every service, and nothing that is not one."""

from __future__ import annotations

import re
from pathlib import Path

from services.intake.config import IntakeSettings
from services.notify.config import NotifySettings
from services.routing.config import RoutingSettings

ROOT = Path(__file__).resolve().parents[2]


def test_env_example_matches_the_settings() -> None:
    known = {
        f"HUIYING_{name.upper()}"
        for cls in (IntakeSettings, RoutingSettings, NotifySettings)
        for name in cls.model_fields
    }
    listed = set(re.findall(r"^#? ?(HUIYING_[A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert listed - known == set(), "listed in .env.example but not a setting"
    assert known - listed == set(), "a setting missing from .env.example"
