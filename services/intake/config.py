from __future__ import annotations

from pathlib import Path

from shared.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


class IntakeSettings(Settings):
    catalogue_path: Path = DEPLOY / "catalogue.yaml"
    # Dev mode seeds a `web` channel with this key; prod mode seeds nothing.
    dev_web_key: str = "dev-web-key"
