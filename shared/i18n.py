"""Localized text: Simplified Chinese is the default, English the alternative."""

from __future__ import annotations

from collections.abc import Mapping

from shared.events import DEFAULT_LANGUAGE, LANGUAGES

LocalizedText = Mapping[str, str]


def pick(text: LocalizedText | str | None, language: str | None) -> str:
    """The text in `language`, falling back to zh-CN, then to any language present."""
    if text is None:
        return ""
    if isinstance(text, str):
        return text
    lang = language if language in LANGUAGES else DEFAULT_LANGUAGE
    return text.get(lang) or text.get(DEFAULT_LANGUAGE) or next(iter(text.values()), "")


def negotiate(accept_language: str | None, explicit: str | None = None) -> str:
    """Choose zh-CN or en from an explicit choice or an Accept-Language header."""
    if explicit in LANGUAGES:
        return explicit  # type: ignore[return-value]
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("en"):
            return "en"
        if tag.startswith("zh"):
            return "zh-CN"
    return DEFAULT_LANGUAGE
