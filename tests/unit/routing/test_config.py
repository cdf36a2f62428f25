"""routing's config files: each read once per start, and a wrong one stops the start with one line naming it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.routing import config as config_module
from services.routing import web
from services.routing.app import create_app
from services.routing.config import DEPLOY, ConfigError, RoutingSettings, load_config


def test_create_app_reads_every_config_file_once(monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[str] = []
    real = config_module.yaml.safe_load

    def counting(stream: Any) -> Any:
        read.append(Path(stream.name).name)
        return real(stream)

    monkeypatch.setattr(config_module.yaml, "safe_load", counting)
    web.templates.cache_clear()  # the console's words are loaded once per process; count them too
    create_app(RoutingSettings())
    assert sorted(read) == [
        "assessment.yaml",  # the ledgers' assessment weights and the weekly report (issue 15)
        "calendar.yaml",
        "console-messages.yaml",
        "duplicates.yaml",
        "followup.yaml",
        "rules.yaml",
        "sla.yaml",
        "teams.yaml",
    ]


def test_the_shipped_files_make_one_frozen_config() -> None:
    config = load_config(RoutingSettings())
    assert config.directory.has("property_maintenance") and config.rules.default_team
    with pytest.raises(AttributeError):
        config.rules = config.rules  # type: ignore[misc]


@pytest.mark.parametrize(
    ("setting", "content", "problem"),
    [
        ("routing_rules_path", "default_team: nobody\n", "default_team: unknown team 'nobody'"),
        ("routing_sla_path", "default: {claim: {working_hours: 4}}\n", "handle"),
        ("routing_calendar_path", "days: [funday]\n", "'funday' is not a weekday"),
        ("teams_path", "teams: [\n", "while parsing"),
    ],
)
def test_a_wrong_file_stops_the_start_naming_the_file(tmp_path: Path, setting: str, content: str, problem: str) -> None:
    path = tmp_path / "wrong.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(RoutingSettings(**{setting: path}))
    message = str(info.value)
    assert message.startswith(f"{path}: ") and problem in message and "\n" not in message


def test_a_missing_file_is_named() -> None:
    missing = DEPLOY / "routing" / "no-such-file.yaml"
    with pytest.raises(ConfigError, match=r"no-such-file\.yaml"):
        load_config(RoutingSettings(routing_sla_path=missing))
