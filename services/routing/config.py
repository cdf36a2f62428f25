from __future__ import annotations

from pathlib import Path

from shared.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


class RoutingSettings(Settings):
    teams_path: Path = DEPLOY / "teams.yaml"
