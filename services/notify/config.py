from __future__ import annotations

from pathlib import Path

from shared.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


class NotifySettings(Settings):
    templates_path: Path = DEPLOY / "notify" / "templates.yaml"
