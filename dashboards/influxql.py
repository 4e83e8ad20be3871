"""InfluxQL targets in the shape Grafana's InfluxDB data source stores them.

grafana-foundation-sdk has no InfluxDB query model, so these two small types plug into
its extension points: a `Dataquery` variant for panel targets, and an annotation target
(the SDK types that one for Grafana's built-in annotations only).
"""

from dataclasses import dataclass
from typing import Self, TypeVar

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models.dashboard import AnnotationTarget, DataSourceRef

from dashboards.names import DATASOURCE_TYPE, DATASOURCE_UID


def datasource() -> DataSourceRef:
    return DataSourceRef(type_val=DATASOURCE_TYPE, uid=DATASOURCE_UID)


@dataclass(frozen=True, slots=True)
class InfluxQL(cogvariants.Dataquery, cogbuilder.Builder[cogvariants.Dataquery]):
    """One raw InfluxQL query of a panel. `table` asks Grafana for one row per series."""

    query: str
    ref_id: str = "A"
    table: bool = False
    alias: str = ""

    def build(self) -> Self:
        return self

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "refId": self.ref_id,
            "datasource": datasource().to_json(),
            "rawQuery": True,
            "query": self.query,
            "resultFormat": "table" if self.table else "time_series",
        }
        if self.alias:
            out["alias"] = self.alias
        return out


class InfluxAnnotationTarget(AnnotationTarget):
    """An InfluxQL annotation: which columns hold the title, text, tags and end time."""

    def __init__(self, query: str, *, title: str, text: str, tags: str, time_end: str) -> None:
        super().__init__()
        self.query = query
        self.title_column = title
        self.text_column = text
        self.tags_column = tags
        self.time_end_column = time_end

    def to_json(self) -> dict[str, object]:
        return {
            "refId": "Anno",
            "query": self.query,
            "rawQuery": True,
            "fromAnnotations": True,
            "queryType": "tags",
            "titleColumn": self.title_column,
            "textColumn": self.text_column,
            "tagsColumn": self.tags_column,
            "timeEndColumn": self.time_end_column,
        }


T_co = TypeVar("T_co", covariant=True)


class Ready(cogbuilder.Builder[T_co]):
    """A builder for a value that is already built (the SDK's setters take builders)."""

    def __init__(self, value: T_co) -> None:
        self._value = value

    def build(self) -> T_co:
        return self._value
