"""What the web pages of intake (resident portal) and routing (staff console) share: the language
choice, message catalogues for templates, and the common stylesheet (served at /static/common/).

Pages are server-rendered Jinja2 templates with a little JavaScript and no build step. Text lives in
per-service message catalogues (YAML: key -> {zh-CN, en}); zh-CN is the default, `?lang=en` switches and
is remembered in a cookie.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from shared.events import DEFAULT_LANGUAGE, LANGUAGES

STATIC = Path(__file__).parent / "static"
LANG_COOKIE = "huiying_lang"


def page_language(request: Request) -> str:
    """`?lang=` first, then the remembered choice, then zh-CN."""
    explicit = request.query_params.get("lang")
    if explicit in LANGUAGES:
        return explicit
    remembered = request.cookies.get(LANG_COOKIE)
    return remembered if remembered in LANGUAGES else DEFAULT_LANGUAGE


class Catalogue:
    """Message catalogue: `t(key, lang, **values)`; a missing English text falls back to zh-CN."""

    def __init__(self, path: Path) -> None:
        with path.open(encoding="utf-8") as fh:
            self.messages: dict[str, dict[str, str]] = yaml.safe_load(fh) or {}
        missing = [k for k, v in self.messages.items() if not v.get(DEFAULT_LANGUAGE)]
        if missing:
            raise ValueError(f"{path}: no zh-CN text for {', '.join(missing)}")

    def t(self, key: str, lang: str, **values: Any) -> str:
        entry = self.messages.get(key)
        if entry is None:
            return key
        text = entry.get(lang) or entry[DEFAULT_LANGUAGE]
        return text.format(**values) if values else text


def make_templates(directory: Path, catalogue: Catalogue) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(directory))
    templates.env.globals["catalogue"] = catalogue
    return templates


def render(templates: Jinja2Templates, request: Request, name: str, **context: Any) -> Any:
    """Render a page in the request's language and remember an explicit `?lang=` in a cookie."""
    lang = page_language(request)
    catalogue: Catalogue = templates.env.globals["catalogue"]  # type: ignore[assignment]

    def t(key: str, **values: Any) -> str:
        return catalogue.t(key, lang, **values)

    response = templates.TemplateResponse(request, name, {"lang": lang, "t": t, **context})
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
    return response


def mount_common_static(app: FastAPI) -> None:
    app.mount("/static/common", StaticFiles(directory=str(STATIC)), name="common-static")
