"""Collector settings: a full file decodes; a wrong one names the field at start-up."""

import pytest

from balise.config import ConfigError, decode_toml
from collector.settings import (
    CollectorSettings,
    InfluxV1StoreSettings,
    InfluxV2StoreSettings,
    SqliteStoreSettings,
    load_settings,
    redact_url,
)

FULL = """
client_id = "collector-eu-1"
state_dir = "/var/lib/balise"
catalog = "/etc/balise/catalog.toml"

[mqtt]
url = "mqtts://broker.example.org:8883"

[store]
kind = "influx_v2"
url = "https://influx.example.org"
org = "balise"
bucket = "rounds"
token_file = "/etc/balise/influx.token"

[http]
listen = "[::1]:9000"

[[webhooks]]
url = "https://hooks.slack.example/services/T0/B0/secret"
format = "slack"

[detection]
evaluate_interval_s = 5.0
"""


def decode(text: str) -> CollectorSettings:
    return decode_toml(text, CollectorSettings, source="collector.toml")


def test_defaults_need_no_file():
    settings = load_settings(None)
    assert isinstance(settings.store, SqliteStoreSettings)
    assert settings.http.address() == ("127.0.0.1", 8470)
    assert settings.catalog is None


def test_a_full_file_decodes():
    settings = decode(FULL)
    assert settings.store == InfluxV2StoreSettings(
        url="https://influx.example.org",
        org="balise",
        bucket="rounds",
        token_file="/etc/balise/influx.token",  # noqa: S106 - a path, not a secret
    )
    assert settings.http.address() == ("::1", 9000)
    assert settings.webhooks[0].format == "slack"
    assert settings.detection.evaluate_interval_s == 5.0


def test_influx_v1_store():
    store = decode('[store]\nkind = "influx_v1"\ndatabase = "b"\n').store
    assert store == InfluxV1StoreSettings(database="b")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[store]\nkind = "mongo"', "field store.kind"),
        ('[store]\nkind = "influx_v2"\norg = "o"\nbucket = "b"', "token"),
        ('[store]\nkind = "influx_v1"\nurl = "influx:8086"', "http:// or https://"),
        ('[http]\nlisten = "8470"', "host:port"),
        ("[batch]\nwriters = 0", "batch.writers must be at least 1"),
        ('[mqtt]\nurl = "tcp://broker"', "mqtt://host:port"),
        (
            '[[webhooks]]\nurl = "https://x.example/h"\nformat = "teams"',
            r"field webhooks\[0\]\.format",
        ),
        ("stat_dir = '/tmp'", "stat_dir"),
    ],
)
def test_a_wrong_setting_is_named(text, message):
    with pytest.raises(ConfigError, match=message) as caught:
        decode(text)
    assert str(caught.value).startswith("collector.toml: ")


def test_a_webhook_url_is_shown_without_its_secret():
    assert redact_url("https://user:pw@hooks.example:8443/services/secret?x=1") == (
        "https://hooks.example:8443/…"
    )
