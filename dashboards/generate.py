"""Render the dashboards and alert rules to the JSON files Grafana reads.

`balise dashboards generate` writes them; tests/dashboards compares them with a fresh
rendering, so a change to the code that is not regenerated fails the tests.
"""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Final

from grafana_foundation_sdk.builders.dashboard import Dashboard
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from dashboards import alerts, event, fleet, model, overview, platforms, provisioning, throttling
from dashboards.names import FOLDER_TITLE

BOARDS: Final[dict[str, Callable[[], Dashboard]]] = {
    "overview": overview.build,
    "platforms": platforms.build,
    "event": event.build,
    "fleet": fleet.build,
    "throttling": throttling.build,
}


def _text(value: object) -> str:
    return json.dumps(value, cls=JSONEncoder, indent=2, ensure_ascii=False) + "\n"


def alert_provisioning() -> dict[str, object]:
    """The rules in Grafana's file-provisioning format (alerting/*.json)."""
    return {
        "apiVersion": 1,
        "groups": [
            {
                "orgId": 1,
                "name": alerts.GROUP,
                "folder": FOLDER_TITLE,
                "interval": f"{alerts.INTERVAL_S}s",
                "rules": [rule.build() for rule in alerts.rules()],
            }
        ],
    }


def render() -> dict[Path, str]:
    """Every generated file: its path and its text."""
    files = {
        model.JSON_DIR / f"{name}.json": _text(build().build()) for name, build in BOARDS.items()
    }
    files[model.ALERT_RULES] = _text(alert_provisioning())
    files[model.PROVISIONING / "datasources" / "balise.yaml"] = provisioning.datasource_yaml()
    files[model.PROVISIONING / "dashboards" / "balise.yaml"] = provisioning.dashboards_yaml()
    return files


def write() -> list[Path]:
    """Write the files whose text changed; return them."""
    changed = []
    for path, text in render().items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed
