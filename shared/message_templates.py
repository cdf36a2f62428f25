"""Message templates per event type and language (Jinja2, sandboxed: communities edit them). In shared/
because two services use it: notify renders with it, routing's administration checks an admin's edit with
it before the new version goes to notify (issue 15); services/notify/domain/templates.py re-exports it.

The file (`deploy/notify/templates.yaml`) maps an event type to languages, each with parts:

    subject   one line (email subject, inbox title, webhook subject)            required
    body      plain text (inbox, email text part, webhook text, SMS by default)  required
    sms       a shorter text for SMS                                             optional
    html      the email's HTML part (autoescaped)                                optional; default: `_layout`

and two reserved keys: `_layout.email_html.<lang>` (the HTML email around `body`, autoescaped) and
`_labels.<group>.<code>.<lang>` (e.g. return reasons). zh-CN must exist for every event: it is the
fallback when the resident's language is missing; `Rendered.missing_language` says so, and the service
logs and counts it. Reading the file is notify's config.py's job (`load_config`): this module only
compiles and renders.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from shared.events import DEFAULT_LANGUAGE, LANGUAGES

PARTS = ("subject", "body", "sms", "html")
REQUIRED_PARTS = ("subject", "body")
LAYOUT, LABELS = "_layout", "_labels"

DEFAULT_HTML_LAYOUT = """<!doctype html>
<html lang="{{ language }}"><head><meta charset="utf-8"><title>{{ subject }}</title></head>
<body style="font-family:sans-serif;font-size:16px;line-height:1.6;color:#1a1a1a">
<h1 style="font-size:20px">{{ subject }}</h1>
<p>{{ body | nl2br }}</p>
{% if feedback_url %}<p><a href="{{ feedback_url }}">{{ feedback_url }}</a></p>{% endif %}
{% if track_url %}<p><a href="{{ track_url }}">{{ track_url }}</a></p>{% endif %}
</body></html>"""


class TemplateConfigError(ValueError):
    """The templates file is malformed; the message names the place and the fix."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    language: str
    sms: str = ""
    html: str = ""
    missing_language: str | None = None  # asked for, not in the template: rendered in zh-CN instead


def _nl2br(value: Any) -> Markup:
    return Markup("<br>\n").join(escape(str(value)).split("\n"))


class Templates:
    def __init__(self, source: dict[str, Any], *, origin: str = "templates") -> None:
        if not isinstance(source, dict):
            raise TemplateConfigError(f"{origin}: expected a mapping of event types, got {type(source).__name__}")
        self.origin = origin
        self._text = SandboxedEnvironment(autoescape=False, keep_trailing_newline=False)
        self._html = SandboxedEnvironment(autoescape=True, keep_trailing_newline=False)
        self._html.filters["nl2br"] = _nl2br
        self._events: dict[str, dict[str, dict[str, str]]] = {}
        self._labels: dict[str, dict[str, dict[str, str]]] = source.get(LABELS) or {}
        # Compile everything up front so a broken template fails at start-up, not at 3 a.m.
        self._compiled: dict[tuple[str, str, str], Any] = {}
        for event_type, langs in source.items():
            if event_type in (LAYOUT, LABELS):
                continue
            self._events[event_type] = self._check_event(event_type, langs)
            for lang, parts in langs.items():
                for part, text in parts.items():
                    env = self._html if part == "html" else self._text
                    self._compiled[(event_type, lang, part)] = self._compile(env, text, f"{event_type}.{lang}.{part}")
        layouts = (source.get(LAYOUT) or {}).get("email_html") or {}
        self._layouts = {
            lang: self._compile(self._html, text, f"{LAYOUT}.email_html.{lang}") for lang, text in layouts.items()
        }
        self._default_layout = self._html.from_string(DEFAULT_HTML_LAYOUT)

    def _check_event(self, event_type: str, langs: Any) -> dict[str, dict[str, str]]:
        where = f"{self.origin}: {event_type}"
        if not isinstance(langs, dict):
            raise TemplateConfigError(f"{where}: expected languages ({', '.join(LANGUAGES)}) as keys")
        if DEFAULT_LANGUAGE not in langs:
            raise TemplateConfigError(f"{where}: add a {DEFAULT_LANGUAGE} version (it is the fallback)")
        for lang, parts in langs.items():
            if lang not in LANGUAGES:
                raise TemplateConfigError(f"{where}.{lang}: unknown language; use one of {', '.join(LANGUAGES)}")
            if not isinstance(parts, dict):
                raise TemplateConfigError(f"{where}.{lang}: expected parts {', '.join(PARTS)}")
            unknown = set(parts) - set(PARTS)
            if unknown:
                raise TemplateConfigError(f"{where}.{lang}: unknown part(s) {sorted(unknown)}; parts are {PARTS}")
            missing = [p for p in REQUIRED_PARTS if not parts.get(p)]
            if missing:
                raise TemplateConfigError(f"{where}.{lang}: add {' and '.join(missing)}")
            for part, text in parts.items():
                if not isinstance(text, str):
                    raise TemplateConfigError(f"{where}.{lang}.{part}: must be text")
        return langs

    def _compile(self, env: SandboxedEnvironment, text: str, where: str) -> Any:
        try:
            return env.from_string(text)
        except TemplateSyntaxError as exc:
            raise TemplateConfigError(f"{self.origin}: {where}: {exc.message} (line {exc.lineno})") from exc

    def has(self, event_type: str) -> bool:
        return event_type in self._events

    def event_types(self) -> list[str]:
        return sorted(self._events)

    def languages(self, event_type: str) -> list[str]:
        return sorted(self._events.get(event_type, {}))

    def label(self, group: str, code: str | None, language: str) -> str:
        """A localized label (e.g. a return reason); the code itself when none is configured."""
        if not code:
            return ""
        texts = (self._labels.get(group) or {}).get(code) or {}
        return str(texts.get(language) or texts.get(DEFAULT_LANGUAGE) or code)

    def render(self, event_type: str, language: str, context: dict[str, Any]) -> Rendered:
        langs = self._events.get(event_type)
        if not langs:
            raise KeyError(f"no template for {event_type}")
        lang = language if language in langs else DEFAULT_LANGUAGE
        ctx = {**context, "language": lang}
        subject = self._compiled[(event_type, lang, "subject")].render(**ctx).strip()
        body = self._compiled[(event_type, lang, "body")].render(**ctx).strip()
        sms_template = self._compiled.get((event_type, lang, "sms"))
        sms = sms_template.render(**ctx).strip() if sms_template is not None else body
        html_template = self._compiled.get((event_type, lang, "html"))
        if html_template is None:
            html_template = self._layouts.get(lang) or self._layouts.get(DEFAULT_LANGUAGE) or self._default_layout
        html = html_template.render(**{**ctx, "subject": subject, "body": body}).strip()
        missing = None if lang == language else str(language)
        return Rendered(subject=subject, body=body, language=lang, sms=sms, html=html, missing_language=missing)
