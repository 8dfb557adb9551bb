"""Where alarm-to-slack finds its Slack webhook URL: an env var, or a secret re-read after its TTL."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from hookrelay.alarms.settings import AlarmToSlackSettings, WebhookUrl, read_webhook_url
from hookrelay.errors import DependencyUnavailable, NotFound

URL = "https://hooks.slack.com/services/T000/B000/XXXXXXXX"


def test_exactly_one_source_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN neither (or both) of the URL and the secret id THEN the settings refuse to load."""
    with pytest.raises(ValidationError, match="set exactly one of"):
        AlarmToSlackSettings()
    monkeypatch.setenv("HOOKRELAY_SLACK_WEBHOOK_URL", URL)
    monkeypatch.setenv("HOOKRELAY_SLACK_WEBHOOK_SECRET_ID", "hookrelay/dev/slack-webhook")
    with pytest.raises(ValidationError, match="set exactly one of"):
        AlarmToSlackSettings()


def test_the_url_from_the_environment_never_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKRELAY_SLACK_WEBHOOK_URL", URL)
    settings = AlarmToSlackSettings()
    assert WebhookUrl(settings).get().get_secret_value() == URL
    assert URL not in repr(settings)
    assert URL not in str(settings.model_dump())


@pytest.mark.parametrize("stored", [URL, '{"url": "' + URL + '"}', "  " + URL + "\n"])
def test_a_secret_holds_the_url_plain_or_as_json(secretsmanager: Any, stored: str) -> None:
    secretsmanager.create_secret(Name="hookrelay/dev/slack-webhook", SecretString=stored)
    assert read_webhook_url("hookrelay/dev/slack-webhook") == SecretStr(URL)


def test_a_secret_without_a_url_is_refused_without_quoting_it(secretsmanager: Any) -> None:
    secretsmanager.create_secret(Name="hookrelay/dev/slack-webhook", SecretString='{"token": "xoxb-secret"}')
    with pytest.raises(DependencyUnavailable) as caught:
        read_webhook_url("hookrelay/dev/slack-webhook")
    expected = (
        "Slack webhook secret hookrelay/dev/slack-webhook is not in the expected form:"
        " JSON without a 'url' key"
    )
    assert caught.value.message == expected


def test_a_missing_secret_is_not_found(secretsmanager: Any) -> None:
    with pytest.raises(NotFound, match="hookrelay/dev/slack-webhook does not exist"):
        read_webhook_url("hookrelay/dev/slack-webhook")


def test_a_rotated_secret_is_read_again_after_the_cache_period(
    secretsmanager: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a 300 s cache WHEN the secret changes THEN the old URL is used until 300 s have passed."""
    monkeypatch.setenv("HOOKRELAY_SLACK_WEBHOOK_SECRET_ID", "hookrelay/dev/slack-webhook")
    secretsmanager.create_secret(Name="hookrelay/dev/slack-webhook", SecretString=URL)
    now = [1000.0]
    webhook = WebhookUrl(AlarmToSlackSettings(), clock=lambda: now[0])
    assert webhook.get().get_secret_value() == URL
    secretsmanager.put_secret_value(SecretId="hookrelay/dev/slack-webhook", SecretString=URL + "2")
    now[0] += 299
    assert webhook.get().get_secret_value() == URL
    now[0] += 1
    assert webhook.get().get_secret_value() == URL + "2"
