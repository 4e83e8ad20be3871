"""`balise dashboards push`: upload the data source, the folder, the dashboards and the
alert rules to a running Grafana through its HTTP API (grafana-client).

Every object has a fixed uid, so pushing again updates what is there instead of adding
copies. grafana-client's and its HTTP library's exceptions stop here and become PushError.
"""

import json
from collections.abc import Callable
from functools import partial
from typing import Final, TypeVar

import niquests
from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException

from dashboards import model
from dashboards.names import DATASOURCE_UID, FOLDER_TITLE, FOLDER_UID
from dashboards.provisioning import datasource

NOT_FOUND: Final = 404
TIMEOUT_S: Final = 30.0
T = TypeVar("T")


class PushError(Exception):
    """Grafana could not be reached or refused a request; the message says which."""


def _call(what: str, request: Callable[[], T]) -> T:
    try:
        return request()
    except (GrafanaException, niquests.exceptions.RequestException) as exc:
        raise PushError(f"{what}: {exc}") from exc


def _exists(what: str, request: Callable[[], object]) -> bool:
    try:
        _call(what, request)
    except PushError as exc:
        cause = exc.__cause__
        if isinstance(cause, GrafanaClientError) and cause.status_code == NOT_FOUND:
            return False
        raise
    return True


def push(grafana_url: str, token: str, *, influx_url: str, database: str) -> list[str]:
    """Upload everything; one line per object saying what was done."""
    api = GrafanaApi.from_url(grafana_url, credential=token, timeout=TIMEOUT_S)
    done = []

    body = datasource(influx_url, database)
    name = f"data source {DATASOURCE_UID}"
    if _exists(name, lambda: api.datasource.get_datasource_by_uid(DATASOURCE_UID)):
        _call(name, lambda: api.datasource.update_datasource_by_uid(DATASOURCE_UID, body))
        done.append(f"{name}: updated ({influx_url}, database {database})")
    else:
        _call(name, lambda: api.datasource.create_datasource(body))
        done.append(f"{name}: created ({influx_url}, database {database})")

    name = f"folder {FOLDER_UID}"
    if _exists(name, lambda: api.folder.get_folder(FOLDER_UID)):
        done.append(f"{name}: exists")
    else:
        _call(name, lambda: api.folder.create_folder(FOLDER_TITLE, uid=FOLDER_UID))
        done.append(f"{name}: created")

    for path in sorted(model.JSON_DIR.glob("*.json")):
        board = json.loads(path.read_text(encoding="utf-8"))
        name = f"dashboard {board['uid']}"
        payload = {"dashboard": board, "folderUid": FOLDER_UID, "overwrite": True}
        _call(name, partial(api.dashboard.update_dashboard, payload))
        done.append(f"{name}: saved")

    provisioning = json.loads(model.ALERT_RULES.read_text(encoding="utf-8"))
    for group in provisioning["groups"]:
        for rule in group["rules"]:
            uid = rule["uid"]
            name = f"alert rule {uid}"
            rules = api.alertingprovisioning
            if _exists(name, partial(rules.get_alertrule, uid)):
                _call(name, partial(rules.update_alertrule, uid, rule))
                done.append(f"{name}: updated")
            else:
                _call(name, partial(rules.create_alertrule, rule))
                done.append(f"{name}: created")
    return done
