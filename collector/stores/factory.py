"""The store the settings name."""

from pathlib import Path

from collector.settings import InfluxV1StoreSettings, InfluxV2StoreSettings, StoreSettings
from collector.stores.influx_v1 import InfluxV1Store
from collector.stores.sqlite import SqliteStore
from collector.stores.store import Store

SQLITE_FILE = "collector.sqlite3"


def make_store(settings: StoreSettings, *, state_dir: Path) -> Store:
    if isinstance(settings, InfluxV1StoreSettings):
        return InfluxV1Store(settings)
    if isinstance(settings, InfluxV2StoreSettings):
        # influxdb-client takes most of a second to import: only when it is used.
        from collector.stores.influx_v2 import InfluxV2Store  # noqa: PLC0415

        return InfluxV2Store(settings)
    return SqliteStore(Path(settings.path) if settings.path else state_dir / SQLITE_FILE)
