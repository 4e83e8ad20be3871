"""The part of a generated dashboard's JSON (and of the alert rules) that the check reads."""

from pathlib import Path
from typing import Final

import msgspec

JSON_DIR: Final = Path(__file__).parent / "json"
PROVISIONING: Final = Path(__file__).parent / "provisioning"
ALERT_RULES: Final = PROVISIONING / "alerting" / "balise-rules.json"


class Target(msgspec.Struct, frozen=True, rename="camel"):
    ref_id: str = "A"
    query: str = ""


class Panel(msgspec.Struct, frozen=True, rename="camel"):
    title: str = ""
    type: str = ""
    interval: str | None = None
    repeat: str | None = None
    targets: tuple[Target, ...] = ()
    panels: tuple["Panel", ...] = ()  # a row's panels


class Variable(msgspec.Struct, frozen=True, rename="camel"):
    name: str
    type: str
    query: str | dict[str, object] = ""
    include_all: bool = False
    all_value: str | None = None
    sort: int = 0


class Templating(msgspec.Struct, frozen=True):
    list: tuple[Variable, ...] = ()


class AnnotationTarget(msgspec.Struct, frozen=True):
    query: str = ""


class Annotation(msgspec.Struct, frozen=True):
    name: str
    target: AnnotationTarget | None = None


class Annotations(msgspec.Struct, frozen=True):
    list: tuple[Annotation, ...] = ()


class Board(msgspec.Struct, frozen=True):
    uid: str
    title: str
    templating: Templating = Templating()
    annotations: Annotations = Annotations()
    panels: tuple[Panel, ...] = ()


class RuleQueryModel(msgspec.Struct, frozen=True):
    query: str = ""


class RuleQuery(msgspec.Struct, frozen=True, rename="camel"):
    ref_id: str
    datasource_uid: str
    model: RuleQueryModel


class Rule(msgspec.Struct, frozen=True):
    title: str
    data: tuple[RuleQuery, ...]


class RuleGroup(msgspec.Struct, frozen=True):
    name: str
    rules: tuple[Rule, ...]


class AlertProvisioning(msgspec.Struct, frozen=True, rename="camel"):
    api_version: int
    groups: tuple[RuleGroup, ...]


def boards(directory: Path = JSON_DIR) -> list[Board]:
    return [
        msgspec.json.decode(path.read_bytes(), type=Board)
        for path in sorted(directory.glob("*.json"))
    ]


def alert_rules(path: Path = ALERT_RULES) -> AlertProvisioning:
    return msgspec.json.decode(path.read_bytes(), type=AlertProvisioning)


def leaf_panels(panels: tuple[Panel, ...]) -> list[Panel]:
    """Panels in reading order, rows opened."""
    return [leaf for p in panels for leaf in ([p] if p.type != "row" else leaf_panels(p.panels))]
