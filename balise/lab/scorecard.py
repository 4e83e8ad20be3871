"""Scoring detected events against a scenario's expectations (scenario-format.md)."""

from collections.abc import Sequence
from typing import Any

import msgspec

from balise.lab.scenario import Expect, ExpectScope, Scenario
from balise.model.events import Event, Scope


class ScenarioScore(msgspec.Struct, kw_only=True):
    name: str
    expected: int
    matched: int
    missed: list[dict[str, Any]]
    false_events: list[dict[str, Any]]
    delays_s: list[float]

    @property
    def passed(self) -> bool:
        return self.matched == self.expected and not self.false_events


class Scorecard(msgspec.Struct, kw_only=True):
    mode: str
    scenarios: list[ScenarioScore]
    expected: int
    matched: int
    false_events: int
    max_delay_s: float

    @property
    def passed(self) -> bool:
        return all(s.passed for s in self.scenarios)

    def summary_line(self) -> str:
        return (
            f"{self.matched}/{self.expected} expected events detected, "
            f"{self.false_events} false events, max delay {self.max_delay_s:g} s"
        )


def scenario_line(score: ScenarioScore) -> str:
    verdict = "ok  " if score.passed else "FAIL"
    delay = max(score.delays_s, default=0.0)
    return (
        f"{verdict} {score.name}: {score.matched}/{score.expected} matched, "
        f"{len(score.false_events)} false, max delay {delay:g} s"
    )


def selected_probes(scenario: Scenario, scope: Scope | ExpectScope) -> frozenset[str]:
    """The scenario's probes (the control vantage point aside) that a scope selects."""
    chosen = set()
    for probe in scenario.probe:
        net = scenario.network_of(probe)
        if (
            (scope.probe is None or scope.probe == probe.id)
            and (scope.country is None or scope.country == net.country)
            and (scope.region is None or scope.region == net.region)
            and (scope.asn is None or scope.asn == net.asn)
            and (scope.access is None or scope.access == net.access)
        ):
            chosen.add(probe.id)
    return frozenset(chosen)


def _matches(scenario: Scenario, expect: Expect, event: Event, t0: float) -> bool:
    tolerance = scenario.tolerance(expect)
    if expect.end_s is None:
        end_ok = event.end is None
    else:
        end_ok = event.end is not None and abs((event.end - t0) - expect.end_s) <= tolerance
    return (
        event.kind == expect.kind
        and expect.platform in (None, event.platform)
        and expect.method in (None, event.method)
        and abs((event.start - t0) - expect.start_s) <= tolerance
        and end_ok
        and selected_probes(scenario, event.scope) == selected_probes(scenario, expect.scope)
    )


def _assign(candidates: list[list[int]], n_events: int) -> list[int | None]:
    """Maximum bipartite matching of expectations to events (augmenting paths)."""
    owner: list[int | None] = [None] * n_events

    def augment(i: int, seen: set[int]) -> bool:
        for j in candidates[i]:
            if j in seen:
                continue
            seen.add(j)
            current = owner[j]
            if current is None or augment(current, seen):
                owner[j] = i
                return True
        return False

    for i in range(len(candidates)):
        augment(i, set())
    return owner


def event_json(event: Event, t0: float) -> dict[str, Any]:
    """An event as the scorecard shows it, with times in scenario seconds."""
    data: dict[str, Any] = msgspec.to_builtins(event)
    data["start_s"] = round(event.start - t0, 3)
    data["end_s"] = None if event.end is None else round(event.end - t0, 3)
    return data


def score(scenario: Scenario, events: Sequence[Event], t0: float) -> ScenarioScore:
    """Score the events as they stand at the end; `t0` is the scenario's start (unix time)."""
    candidates = [
        [j for j, event in enumerate(events) if _matches(scenario, expect, event, t0)]
        for expect in scenario.expect
    ]
    owner = _assign(candidates, len(events))
    matched_expect = {i: j for j, i in enumerate(owner) if i is not None}
    missed = [
        msgspec.to_builtins(expect)
        for i, expect in enumerate(scenario.expect)
        if i not in matched_expect
    ]
    false_events = [event_json(e, t0) for e, o in zip(events, owner, strict=True) if o is None]
    delays = [
        round(events[j].first_emitted - t0 - scenario.expect[i].start_s, 3)
        for i, j in sorted(matched_expect.items())
    ]
    return ScenarioScore(
        name=scenario.name,
        expected=len(scenario.expect),
        matched=len(matched_expect),
        missed=missed,
        false_events=false_events,
        delays_s=delays,
    )


def combine(mode: str, scores: Sequence[ScenarioScore]) -> Scorecard:
    return Scorecard(
        mode=mode,
        scenarios=list(scores),
        expected=sum(s.expected for s in scores),
        matched=sum(s.matched for s in scores),
        false_events=sum(len(s.false_events) for s in scores),
        max_delay_s=max((d for s in scores for d in s.delays_s), default=0.0),
    )
