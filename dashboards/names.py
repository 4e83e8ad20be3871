"""The names Grafana knows our objects by. Plain constants: `check` and `push` use them
without loading the SDK that only generating needs."""

from typing import Final

DATASOURCE_UID: Final = "balise-influxdb"
DATASOURCE_TYPE: Final = "influxdb"
DATASOURCE_NAME: Final = "Balise InfluxDB"
FOLDER_UID: Final = "balise"
FOLDER_TITLE: Final = "Balise"
# Probes measure about once a minute: a shorter $__interval only makes empty buckets.
MIN_INTERVAL: Final = "1m"
