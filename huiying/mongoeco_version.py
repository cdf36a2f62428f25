"""The mongoeco version the launcher's corrections are written against (huiying/mongoeco_patch.py and its siblings):
on any other version none of them is applied."""

from __future__ import annotations

PINNED = "4.11.0"


def installed_version() -> str | None:
    try:
        from mongoeco import __version__
    except ImportError:
        return None
    return str(__version__)
