"""load_config reads the templates file and checks the SMTP URL once; a mistake is one line naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.notify.channels.email import SmtpTarget
from services.notify.config import NotifySettings, load_config
from services.notify.domain.templates import TemplateConfigError


def test_the_shipped_configuration_loads() -> None:
    config = load_config(NotifySettings(notify_smtp_url="smtp://127.0.0.1:2525"))
    assert config.templates.has("request.submitted")
    assert config.smtp == SmtpTarget("127.0.0.1", 2525, None, None, False, None)
    assert load_config(NotifySettings(notify_smtp_url="")).smtp is None  # blank: email disabled


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "not found; set HUIYING_TEMPLATES_PATH"),
        ("request.submitted: [unclosed\n", "is not valid YAML"),
        ("- a list\n", "expected a mapping of event types"),
    ],
)
def test_a_broken_templates_file_stops_start_up_with_one_line(tmp_path: Path, text: str | None, message: str) -> None:
    path = tmp_path / "templates.yaml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(TemplateConfigError, match=message) as caught:
        load_config(NotifySettings(templates_path=path))
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_a_malformed_smtp_url_stops_start_up_naming_the_variable() -> None:
    with pytest.raises(ValueError, match="HUIYING_NOTIFY_SMTP_URL must look like"):
        load_config(NotifySettings(notify_smtp_url="http://mail.example"))


def test_the_sms_gateway_url_is_checked_when_configured() -> None:
    from tests.support import PROD_SECRETS

    with pytest.raises(ValueError, match="HUIYING_NOTIFY_SMS_URL: outbound URLs must use https"):
        NotifySettings(mode="prod", notify_sms_url="http://sms.example/send", **PROD_SECRETS)
    with pytest.raises(ValueError, match="HUIYING_NOTIFY_SMS_URL: put credentials in the channel's settings"):
        NotifySettings(notify_sms_url="https://user:pw@sms.example/send")
    assert NotifySettings(mode="prod", notify_sms_url="https://sms.example/send", **PROD_SECRETS).notify_sms_url
