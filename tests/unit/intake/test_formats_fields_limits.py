"""Open311 XML/JSON bodies, the shared field rules, and the rate-limit windows."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from services.intake.api.open311.form import resident_name
from services.intake.api.open311.formats import errors_response, format_of, render, to_xml
from services.intake.domain.fields import check_line, check_media_url, check_text, check_webhook_url, normalize_phone
from services.intake.limits import window_for


def test_xml_lists_use_the_spec_item_names_and_escape_text() -> None:
    body = to_xml(
        "service_definition",
        {
            "service_code": "a&b",
            "attributes": [{"variable": True, "code": "<x>", "values": [{"key": "k", "name": "甲"}], "order": 1}],
            "empty": None,
        },
    )
    assert body.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    tree = ET.fromstring(body)
    assert tree.findtext("service_code") == "a&b"
    attribute = tree.find("attributes/attribute")
    assert attribute is not None
    assert attribute.findtext("variable") == "true" and attribute.findtext("code") == "<x>"
    assert attribute.findtext("values/value/name") == "甲" and attribute.findtext("order") == "1"
    empty = tree.find("empty")
    assert empty is not None and empty.text is None and len(empty) == 0
    for root, item in (("services", "service"), ("service_requests", "request"), ("errors", "error")):
        assert [e.tag for e in ET.fromstring(to_xml(root, [{"a": 1}, {"a": 2}]))] == [item, item]


def test_characters_xml_cannot_carry_are_dropped_not_crashing() -> None:
    tree = ET.fromstring(to_xml("errors", [{"code": 400, "description": "bad\x00\x07 \ud800value\ufffe"}]))
    assert tree.findtext("error/description") == "bad value"


def test_render_both_formats() -> None:
    xml = render("xml", "services", [{"service_code": "x"}])
    assert xml.media_type == "text/xml; charset=utf-8"
    js = render("json", "services", [{"service_code": "x"}], 201)
    assert js.status_code == 201 and json.loads(bytes(js.body)) == [{"service_code": "x"}]
    error = errors_response("/open311/v2/requests.json", 403, ["invalid api_key"])
    assert json.loads(bytes(error.body)) == [{"code": 403, "description": "invalid api_key"}]
    assert format_of("/open311/v2/services.xml") == format_of("/open311/v2/services.yaml") == "xml"


def test_phone_numbers() -> None:
    assert normalize_phone("138 0013 8000") == "+8613800138000"
    assert normalize_phone("+44 20 7946 0958") == "+442079460958"
    for bad in ("12345", "phone", "1380013800"):
        with pytest.raises(ValueError, match="phone number"):
            normalize_phone(bad)


def test_lines_texts_and_urls() -> None:
    assert check_line("3号楼") == "3号楼"
    assert check_text("a\nb") == "a\nb"
    for bad in ("a\nb", "a\x00b", "a\ud800"):
        with pytest.raises(ValueError):
            check_line(bad)
    with pytest.raises(ValueError):
        check_text("nul\x00")
    assert check_media_url("https://example.org/p.jpg")
    for bad in ("ftp://x/y", "example.org/p.jpg", "http://", "http://[::1", "https://x/" + "a" * 500):
        with pytest.raises(ValueError):
            check_media_url(bad)
    assert check_webhook_url("http://localhost:9000/hook", require_https=False)
    with pytest.raises(ValueError, match="https"):
        check_webhook_url("http://example.org/hook", require_https=True)


def test_names_in_chinese_order() -> None:
    assert resident_name("明", "李") == "李明"
    assert resident_name("John", "Smith") == "John Smith"
    assert resident_name(None, None) == ""


def test_fixed_windows() -> None:
    moment = datetime(2025, 5, 1, 0, 0, 50, tzinfo=UTC)
    window = window_for("addr", "10.0.0.1", moment, 60)
    assert window.retry_after_s == 10
    assert window_for("addr", "10.0.0.1", moment.replace(second=5), 60).id == window.id
    assert window_for("addr", "10.0.0.2", moment, 60).id != window.id
    assert window_for("addr", "10.0.0.1", moment.replace(minute=1), 60).id != window.id
    assert "10.0.0.1" not in window.id  # addresses are not stored in clear
    assert window.expires_at > moment
