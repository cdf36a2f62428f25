"""Message templates: the compiler and renderer live in shared/message_templates.py (routing's administration
checks an admin's edit with the same code before it reaches notify); notify's modules import them from here."""

from shared.message_templates import (
    DEFAULT_HTML_LAYOUT,
    LABELS,
    LAYOUT,
    PARTS,
    REQUIRED_PARTS,
    Rendered,
    TemplateConfigError,
    Templates,
)

__all__ = [
    "DEFAULT_HTML_LAYOUT",
    "LABELS",
    "LAYOUT",
    "PARTS",
    "REQUIRED_PARTS",
    "Rendered",
    "TemplateConfigError",
    "Templates",
]
