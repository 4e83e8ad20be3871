"""The `balise dashboards` commands: what they print and their exit status."""

import asyncio
import sys

from dashboards.check import check
from dashboards.push import PushError, push


def run_generate() -> int:
    from dashboards import generate  # noqa: PLC0415 - only generating needs the SDK

    changed = generate.write()
    for path in changed:
        print(f"wrote {path}")
    print(f"{len(changed)} of {len(generate.render())} generated files changed")
    return 0


def run_check(influx_url: str, database: str) -> int:
    """One line per panel; 0 when every one passed, 1 otherwise."""
    outcomes = asyncio.run(check(influx_url, database))
    for outcome in outcomes:
        print(outcome.line, flush=True)
    failed = sum(o.problem is not None for o in outcomes)
    print(f"dashboards check: {len(outcomes) - failed} ok, {failed} failing")
    return 1 if failed else 0


def run_push(grafana_url: str, token: str, *, influx_url: str, database: str) -> int:
    try:
        done = push(grafana_url, token, influx_url=influx_url, database=database)
    except PushError as exc:
        print(f"balise dashboards push: {exc}", file=sys.stderr)
        return 1
    for line in done:
        print(line)
    return 0
