"""The probe's typed settings, read from one TOML file at start-up."""

from pathlib import Path

import msgspec

from balise.config import ConfigError, load_toml
from balise.model.layers import Access
from balise.mqtt import MqttSettings
from balise.wire import PROBE_ID
from probe.measure_settings import MeasureSettings


class ProbeIdentity(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where the probe stands. Coarse on purpose: a region, never coordinates."""

    country: str
    region: str = ""
    asn: int = 0
    network: str = ""
    access: Access = Access.FIXED
    control: bool = False


class ProbeMqttSettings(MqttSettings, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The shared MQTT settings with the probe's own keep-alive.

    60 s, not 30: a mobile operator's NAT keeps an idle flow 2-5 minutes, so 60 s
    keeps it open, and half the pings cross the metered link (paho pings whenever
    nothing came *in* for a keep-alive, heartbeats going out notwithstanding). The
    broker sends the Last Will after 1.5 keep-alives (90 s), well within the
    detector's silence grace (half a 300 s round).
    """

    keepalive_s: int = 60


class ProbeSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: str
    location: ProbeIdentity
    state_dir: str = "/var/lib/balise"
    round_s: float = 300.0  # a metered link's budget (docs/performance.md); fixed lines: 60
    jitter: float = 0.1  # each round starts within ±10 % of round_s
    heartbeat_s: float = 30.0
    catalog: str | None = None  # a catalog file; default: the built-in one, then the fleet's
    replay_per_s: float = 5.0  # backlog rounds sent per second after a reconnect
    spool_max_mb: float = 64.0
    clock_offset_s: float = 0.0  # lab test setting: shift the wall clock by this much
    sign: bool = True  # sign every round with the probe's key (<state_dir>/identity.key)
    compress: bool = True  # rounds compressed on the wire; off for a collector older than that
    mqtt: ProbeMqttSettings = ProbeMqttSettings()
    measure: MeasureSettings = MeasureSettings()

    @property
    def state_path(self) -> Path:
        return Path(self.state_dir)


def load(path: Path) -> ProbeSettings:
    settings = load_toml(path, ProbeSettings)
    problems = {
        "id": None if PROBE_ID.match(settings.id) else "lowercase letters, digits, - and _ only",
        "location.country": None
        if len(settings.location.country) == 2 and settings.location.country.isupper()  # noqa: PLR2004
        else "an ISO 3166-1 alpha-2 code such as NC",
        "round_s": None if settings.round_s > 0 else "must be > 0",
        "jitter": None if 0 <= settings.jitter < 1 else "must be in [0, 1)",
    }
    for field, problem in problems.items():
        if problem:
            raise ConfigError(f"{path}: field {field}: {problem}")
    try:
        settings.mqtt.endpoint()
    except ValueError as exc:
        raise ConfigError(f"{path}: field {exc}") from exc
    return settings
