"""Message templates per event type and language (Jinja2, sandboxed: communities edit them)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
import yaml
from jinja2.sandbox import SandboxedEnvironment

from shared.events import DEFAULT_LANGUAGE

log = structlog.get_logger("huiying.notify.templates")


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    language: str


class Templates:
    def __init__(self, source: dict[str, dict[str, dict[str, str]]]) -> None:
        self._env = SandboxedEnvironment(autoescape=False, keep_trailing_newline=False)
        self._source = source
        # Compile everything up front so a broken template fails at start-up, not at 3 a.m.
        self._compiled = {
            (event_type, lang, part): self._env.from_string(text)
            for event_type, langs in source.items()
            for lang, parts in langs.items()
            for part, text in parts.items()
        }

    @classmethod
    def load(cls, path: Path) -> Templates:
        with path.open(encoding="utf-8") as fh:
            return cls(yaml.safe_load(fh))

    def has(self, event_type: str) -> bool:
        return event_type in self._source

    def render(self, event_type: str, language: str, context: dict[str, Any]) -> Rendered:
        langs = self._source.get(event_type)
        if not langs:
            raise KeyError(f"no template for {event_type}")
        lang = language
        if lang not in langs:
            log.warning("missing translation; falling back to zh-CN", event_type=event_type, language=language)
            lang = DEFAULT_LANGUAGE
        subject = self._compiled[(event_type, lang, "subject")].render(**context)
        body = self._compiled[(event_type, lang, "body")].render(**context)
        return Rendered(subject=subject.strip(), body=body.strip(), language=lang)
