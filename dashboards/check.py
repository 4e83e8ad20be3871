"""`balise dashboards check`: run every panel's queries against a live InfluxDB 1.x.

Variables get their first value, or All (`.*`) where the dashboard offers All; the time
range is the one of the data (the first and last `round`). A panel passes when each of
its queries returns at least one row; annotation and alert-rule queries must not fail
(they may find nothing: no event of that kind is not a fault).
"""

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from dashboards import model
from dashboards.expand import ExpandError, TimeRange, Value, expand, interval_ms
from dashboards.influxdb import InfluxQuery, QueryError, Series

DEFAULT_RANGE_MS: Final = 24 * 3_600_000  # when the database holds no round at all
_FIRST_NUMBER: Final = re.compile(r"\d+")


class Sort(IntEnum):
    """A variable's `sort`, as Grafana numbers it."""

    NONE = 0
    ALPHABETICAL = 1
    ALPHABETICAL_DESC = 2
    NUMERICAL = 3
    NUMERICAL_DESC = 4
    CASE_INSENSITIVE = 5
    CASE_INSENSITIVE_DESC = 6


@dataclass(frozen=True, slots=True)
class Outcome:
    where: str  # "<dashboard> / <panel>"
    rows: int
    problem: str | None = None  # None: passed

    @property
    def line(self) -> str:
        if self.problem is None:
            return f"ok    {self.where} ({self.rows} rows)"
        return f"FAIL  {self.where}: {self.problem}"


def _rows(series: Sequence[Series]) -> int:
    return sum(len(s.rows) for s in series)


async def data_range(influx: InfluxQuery) -> TimeRange:
    """From the first to the last round stored (plus a second), else the last 24 hours."""
    try:
        first = await influx.query('SELECT first("seq") FROM "round"')
        last = await influx.query('SELECT last("seq") FROM "round"')
    except QueryError:
        first = last = []
    if _rows(first) and _rows(last):
        start, end = first[0].rows[0][0], last[0].rows[0][0]
        if isinstance(start, int) and isinstance(end, int):
            return TimeRange(start_ms=start, end_ms=end + 1000)
    now = int(time.time() * 1000)
    return TimeRange(start_ms=now - DEFAULT_RANGE_MS, end_ms=now)


def _number(text: str) -> int:
    """Grafana sorts numerically by the first number in the text."""
    match = _FIRST_NUMBER.search(text)
    return int(match.group(0)) if match else 0


def _sorted(values: list[str], sort: int) -> list[str]:
    if sort in {Sort.ALPHABETICAL, Sort.ALPHABETICAL_DESC}:
        return sorted(values, reverse=sort == Sort.ALPHABETICAL_DESC)
    if sort in {Sort.NUMERICAL, Sort.NUMERICAL_DESC}:
        return sorted(values, key=_number, reverse=sort == Sort.NUMERICAL_DESC)
    if sort in {Sort.CASE_INSENSITIVE, Sort.CASE_INSENSITIVE_DESC}:
        return sorted(values, key=str.lower, reverse=sort == Sort.CASE_INSENSITIVE_DESC)
    return values


async def _variable(
    influx: InfluxQuery, variable: model.Variable, values: dict[str, Value], window: TimeRange
) -> Value:
    if variable.include_all and variable.all_value is not None:
        return Value(variable.all_value, is_all=True)
    if variable.type != "query" or not isinstance(variable.query, str):
        raise ExpandError(f"variable {variable.name}: type {variable.type} is not supported")
    series = await influx.query(expand(variable.query, values, window))
    found = [
        str(row[s.columns.index("value") if "value" in s.columns else -1])
        for s in series
        for row in s.rows
    ]
    ordered = _sorted(found, variable.sort)
    return Value(ordered[0] if ordered else "")


class CheckError(Exception):
    """A query of a panel or of a variable failed; the message says which."""


async def panel_series(
    influx: InfluxQuery, panel: model.Panel, values: dict[str, Value], window: TimeRange
) -> dict[str, list[Series]]:
    """Each query's series, by refId, with the variables and the panel's $__interval."""
    interval = interval_ms(window, panel.interval)
    out = {}
    for target in panel.targets:
        if target.query:
            try:
                out[target.ref_id] = await influx.query(
                    expand(target.query, values, window, interval)
                )
            except (QueryError, ExpandError) as exc:
                raise CheckError(f"query {target.ref_id}: {exc}") from exc
    return out


async def _panel(
    influx: InfluxQuery, where: str, panel: model.Panel, values: dict[str, Value], window: TimeRange
) -> Outcome:
    try:
        results = await panel_series(influx, panel, values, window)
    except CheckError as exc:
        return Outcome(where, 0, str(exc))
    if not results:
        return Outcome(where, 0, "no query")
    if empty := next((ref for ref, series in results.items() if not _rows(series)), None):
        return Outcome(where, 0, f"query {empty}: empty result")
    return Outcome(where, sum(_rows(series) for series in results.values()))


async def _may_be_empty(
    influx: InfluxQuery, where: str, query: str, values: dict[str, Value], window: TimeRange
) -> Outcome:
    try:
        return Outcome(where, _rows(await influx.query(expand(query, values, window))))
    except (QueryError, ExpandError) as exc:
        return Outcome(where, 0, str(exc))


async def variable_values(
    influx: InfluxQuery, board: model.Board, window: TimeRange
) -> dict[str, Value]:
    """Each variable's value, in order (a variable may use the ones before it)."""
    values: dict[str, Value] = {}
    for variable in board.templating.list:
        try:
            values[variable.name] = await _variable(influx, variable, values, window)
        except (QueryError, ExpandError) as exc:
            raise CheckError(f"variable {variable.name}: {exc}") from exc
    return values


async def check_board(influx: InfluxQuery, board: model.Board, window: TimeRange) -> list[Outcome]:
    try:
        values = await variable_values(influx, board, window)
    except CheckError as exc:
        return [Outcome(board.title, 0, str(exc))]
    outcomes = [
        await _panel(influx, f"{board.title} / {panel.title}", panel, values, window)
        for panel in model.leaf_panels(board.panels)
    ]
    outcomes += [
        await _may_be_empty(
            influx, f"{board.title} / annotation {a.name}", a.target.query, values, window
        )
        for a in board.annotations.list
        if a.target is not None and a.target.query
    ]
    return outcomes


async def check_alerts(
    influx: InfluxQuery, rules: model.AlertProvisioning, window: TimeRange
) -> list[Outcome]:
    return [
        await _may_be_empty(influx, f"alert rule {rule.title}", q.model.query, {}, window)
        for group in rules.groups
        for rule in group.rules
        for q in rule.data
        if q.model.query
    ]


async def check(url: str, database: str) -> list[Outcome]:
    async with InfluxQuery(url, database) as influx:
        try:
            await influx.query("SHOW RETENTION POLICIES")  # fails if the database does not exist
        except QueryError as exc:
            return [Outcome(f"InfluxDB {url}, database {database}", 0, str(exc))]
        window = await data_range(influx)
        outcomes: list[Outcome] = []
        for board in model.boards():
            outcomes += await check_board(influx, board, window)
        outcomes += await check_alerts(influx, model.alert_rules(), window)
        return outcomes
