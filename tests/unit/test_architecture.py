"""The shape of the house (docs/architecture.md) holds: import contracts and module sizes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PARTS = ("config.py", "bootstrap.py", "app.py", "domain", "service.py", "store.py", "handlers.py", "api")
MAX_LINES = 500


def test_import_contracts_hold() -> None:
    """No cycles; domain/ pure; shared/ imports no service; no service imports another (pyproject.toml)."""
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint), "--config", "pyproject.toml", "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


@pytest.mark.parametrize("service", ["intake", "routing", "notify"])
def test_every_service_has_the_same_parts(service: str) -> None:
    folder = ROOT / "services" / service
    missing = [part for part in PARTS if not (folder / part).exists()]
    assert not missing, f"services/{service} lacks {missing} (see docs/architecture.md)"


def test_no_module_is_over_500_lines() -> None:
    big = {
        str(path.relative_to(ROOT)): n
        for top in ("shared", "services", "huiying")
        for path in (ROOT / top).rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not big, f"split these modules by idea: {big}"
