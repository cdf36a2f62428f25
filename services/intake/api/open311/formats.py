"""Open311 GeoReport v2 bodies in XML (required by the spec) and JSON (its Spark-convention mapping).

XML is built with the standard library's ElementTree, never by pasting strings: it escapes text and we
drop the few characters XML 1.0 cannot carry at all. JSON is the same tree: lists become arrays.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any, Literal

from fastapi.responses import JSONResponse, Response

Format = Literal["json", "xml"]
XML_MEDIA_TYPE = "text/xml; charset=utf-8"
JSON_MEDIA_TYPE = "application/json; charset=utf-8"

# The element name of one item of each list, as in the spec's examples.
ITEM_NAMES = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
}

# Characters outside XML 1.0's `Char` production (control characters, lone surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ET.SubElement(element, key), child)
    elif isinstance(value, list):
        item = ITEM_NAMES.get(element.tag, "item")
        for child in value:
            _fill(ET.SubElement(element, item), child)
    else:
        element.text = _text(value)


def to_xml(root: str, value: Any) -> bytes:
    element = ET.Element(root)
    _fill(element, value)
    return ET.tostring(element, encoding="UTF-8", xml_declaration=True)


def render(
    fmt: Format, root: str, value: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """`value` is a list (rendered as <root><item/>...</root>, or a JSON array) or a dict."""
    if fmt == "xml":
        return Response(to_xml(root, value), status_code=status_code, media_type=XML_MEDIA_TYPE, headers=headers)
    return JSONResponse(value, status_code=status_code, media_type=JSON_MEDIA_TYPE, headers=headers)


def format_of(path: str) -> Format:
    """The format a client asked for by the resource's extension; XML (the spec's required one) otherwise."""
    return "json" if path.endswith(".json") else "xml"


def errors_response(
    path: str, status_code: int, descriptions: list[str], headers: dict[str, str] | None = None
) -> Response:
    body = [{"code": status_code, "description": d} for d in descriptions]
    return render(format_of(path), "errors", body, status_code, headers)
