import pytest

from balise.config import ConfigError, decode_toml
from probe.measure_settings import MeasureSettings


def test_defaults_exempt_the_documentation_ranges():
    settings = MeasureSettings()
    assert settings.bogon_exempt == ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
    assert settings.system_resolver is None


def test_overrides_from_toml():
    settings = decode_toml(
        'system_resolver = "udp:127.0.0.1:5353"\nindependent_resolver = "https://doh.test/q"\n'
        "concurrency = 2\n",
        MeasureSettings,
        source="probe.toml",
    )
    assert (settings.system_resolver, settings.concurrency) == ("udp:127.0.0.1:5353", 2)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('system_resolver = "https://doh.test/q"', "system_resolver: must be udp:ADDR:PORT"),
        ('independent_resolver = "resolver.test"', "independent_resolver: resolver"),
        ('bogon_exempt = ["10.0.0.0/33"]', "bogon_exempt: '10.0.0.0/33' is not a network"),
        ("concurrency = 0", "field concurrency"),
        ("http_timeout_s = -1", "field http_timeout_s"),
        ("colour = 3", "colour"),
    ],
)
def test_bad_settings_are_named(text, message):
    with pytest.raises(ConfigError, match=message) as raised:
        decode_toml(text, MeasureSettings, source="probe.toml")
    assert str(raised.value).startswith("probe.toml: ")
