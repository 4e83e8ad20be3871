"""A scenario's actions as a schedule of steps, played against the wall clock."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from balise.lab.netns.actions import Censor
from balise.lab.scenario import Action, Scenario


@dataclass(frozen=True, slots=True, order=True)
class Step:
    at_s: float  # scenario seconds
    order: int  # at the same instant, what ends goes before what starts
    index: int  # the action's index in the scenario
    verb: Literal["remove", "apply"]


def steps(scenario: Scenario) -> list[Step]:
    """Every start and end, in order; an action without `until_s` lasts to the end."""
    out = []
    for index, action in enumerate(scenario.action):
        out.append(Step(action.at_s, 1, index, "apply"))
        if action.until_s is not None:
            out.append(Step(action.until_s, 0, index, "remove"))
    return sorted(out)


async def play(
    actions: Sequence[Action],
    schedule: Sequence[Step],
    censor: Censor,
    *,
    start: float,
    scale: float,
) -> None:
    """Run each step at `start + at_s * scale` on the event loop's clock."""
    loop = asyncio.get_running_loop()
    for step in schedule:
        await asyncio.sleep(max(0.0, start + step.at_s * scale - loop.time()))
        action = actions[step.index]
        if step.verb == "apply":
            await censor.apply(step.index, action)
        else:
            await censor.remove(step.index, action)
