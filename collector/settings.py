"""The collector's typed settings, read from TOML once at start-up (balise.config)."""

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import msgspec

from balise.config import load_toml
from balise.mqtt import MqttSettings
from collector.detection.settings import DetectionSettings
from collector.sharing import ShareSettings


class SqliteStoreSettings(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    forbid_unknown_fields=True,
    tag="sqlite",
    tag_field="kind",
):
    path: str | None = None  # default: <state_dir>/collector.sqlite3


class InfluxV1StoreSettings(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    forbid_unknown_fields=True,
    tag="influx_v1",
    tag_field="kind",
):
    url: str = "http://127.0.0.1:8086"
    database: str = "balise"
    retention_policy: str | None = None
    username: str | None = None
    password: str | None = None
    password_file: str | None = None
    create_database: bool = True
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        _check_http_url(self.url)

    def secret(self) -> str | None:
        return _secret(self.password, self.password_file)


class InfluxV2StoreSettings(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    forbid_unknown_fields=True,
    tag="influx_v2",
    tag_field="kind",
):
    """InfluxDB 2.x, or 3.x through its v2-compatible write API."""

    url: str = "http://127.0.0.1:8086"
    org: str
    bucket: str
    token: str | None = None
    token_file: str | None = None
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        _check_http_url(self.url)
        if self.token is None and self.token_file is None:
            raise ValueError("the influx_v2 store needs `token` or `token_file`")

    def secret(self) -> str:
        return _secret(self.token, self.token_file) or ""


StoreSettings = SqliteStoreSettings | InfluxV1StoreSettings | InfluxV2StoreSettings


class BatchSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    size: int = 1000  # messages per write
    interval_s: float = 1.0  # longest a message waits before it is written
    writers: int = 2  # batches written at once (the store parses one on one core)
    capacity: int = 50_000  # messages buffered while the store is down; more are refused
    backoff_cap_s: float = 30.0
    stop_timeout_s: float = 30.0  # how long stopping waits for the store to take the rest
    spill_max_mb: float = 1024.0  # the disk buffer for a store that is down (state_dir)

    def __post_init__(self) -> None:
        if self.writers < 1:
            raise ValueError(f"batch.writers must be at least 1, not {self.writers}")


class HttpSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    listen: str = "127.0.0.1:8470"  # the health endpoint, API and status page
    admin_token_file: str | None = None  # needed for any request that changes something
    read_token_file: str | None = None  # when set, needed to read /api/ (exports)
    max_body_bytes: int = 64 * 1024
    rate_per_s: float = 20.0  # requests per second per client address (burst: 2 s worth)

    def admin_token(self) -> str | None:
        return _secret(None, self.admin_token_file)

    def read_token(self) -> str | None:
        return _secret(None, self.read_token_file)

    def __post_init__(self) -> None:
        self.address()

    def address(self) -> tuple[str, int]:
        host, sep, port = self.listen.rpartition(":")
        if not sep or not host or not port.isdigit() or int(port) > 65535:  # noqa: PLR2004
            raise ValueError(f"http.listen must look like host:port, not {self.listen!r}")
        return host.strip("[]"), int(port)


class Webhook(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    url: str  # may hold a secret: it is never logged in full
    format: Literal["generic", "slack", "matrix"] = "generic"
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        _check_http_url(self.url)


class OutputSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    queue: int = 1000  # events waiting per output; past it the oldest is dropped (counted)
    max_attempts: int = 10  # per event and webhook before it is given up (counted)
    backoff_cap_s: float = 60.0


class FleetSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """With a fleet, every round must be signed by an enrolled, unrevoked probe."""

    registry: str  # the JSON registry `balise fleet add|revoke` maintains
    mosquitto_password_file: str | None = None  # kept in step with the registry when set
    mosquitto_acl_file: str | None = None
    collector_user: str = "balise-collector"
    seq_window: int = 1_000_000  # a round this far beyond the newest seq seen is a forgery


class CollectorSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    client_id: str = "balise-collector"  # fixed: the broker keeps our session under it
    mqtt: MqttSettings = MqttSettings()
    store: StoreSettings = SqliteStoreSettings()
    batch: BatchSettings = BatchSettings()
    http: HttpSettings = HttpSettings()
    state_dir: str = "/var/lib/balise"
    catalog: str | None = None  # the fleet's catalog file; None: the packaged default
    webhooks: tuple[Webhook, ...] = ()
    outputs: OutputSettings = OutputSettings()
    detection: DetectionSettings = DetectionSettings()
    fleet: FleetSettings | None = None
    share: ShareSettings | None = None  # several collectors for one fleet (collector/sharing.py)

    def __post_init__(self) -> None:
        self.mqtt.endpoint()  # a bad broker URL stops the start-up, not the first connect


def load_settings(path: Path | None) -> CollectorSettings:
    """The settings in `path`, or every default when there is no file."""
    return CollectorSettings() if path is None else load_toml(path, CollectorSettings)


def _check_http_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"expected an http:// or https:// URL, not {redact_url(url)!r}")


def redact_url(url: str) -> str:
    """Scheme, host and port only: webhook paths and queries often carry a secret."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/…" if parts.netloc else "…"


def _secret(value: str | None, file: str | None) -> str | None:
    if file:
        return Path(file).read_text(encoding="utf-8").strip()
    return value
