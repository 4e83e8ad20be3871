"""The probe's settings file: the MQTT keep-alive is the probe's own (60 s), not the shared 30 s."""

import pytest

from balise.config import ConfigError
from balise.mqtt import MqttSettings
from probe.settings import load

BASE = 'id = "p1"\n[location]\ncountry = "NC"\n'


def test_an_mqtt_table_without_keepalive_gets_the_probes_60_s(tmp_path):
    path = tmp_path / "probe.toml"
    path.write_text(BASE + '[mqtt]\nurl = "mqtt://broker.example:1883"\n')
    settings = load(path)
    assert settings.mqtt.keepalive_s == 60
    assert MqttSettings().keepalive_s == 30  # the collector's is unchanged
    path.write_text(BASE)
    assert load(path).mqtt.keepalive_s == 60


def test_an_explicit_keepalive_and_unknown_mqtt_fields(tmp_path):
    path = tmp_path / "probe.toml"
    path.write_text(BASE + "[mqtt]\nkeepalive_s = 20\n")
    assert load(path).mqtt.keepalive_s == 20
    path.write_text(BASE + "[mqtt]\nkeep_alive = 20\n")
    with pytest.raises(ConfigError, match="keep_alive"):
        load(path)
