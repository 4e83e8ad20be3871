"""The timeline as a picture for a printed report: one row per scope and platform, one
bar per event, coloured by kind (with a hatch too, for black-and-white printing).

matplotlib's object API only (no pyplot): no global figure state, any thread.
"""

import datetime as dt
from collections.abc import Sequence
from typing import IO, Literal

from matplotlib.axes import Axes
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from balise.model.events import Event, EventKind
from collector.exports.rows import METHOD_TEXT, lane_of

# Okabe-Ito colours: told apart with the common colour-vision deficiencies. The status
# page (collector/static/status.html) uses the same colours for the same kinds.
KIND_STYLE: dict[EventKind, tuple[str, str, str]] = {
    EventKind.NETWORK_SHUTDOWN: ("#D55E00", "", "Network shutdown"),
    EventKind.SERVICE_BLOCK: ("#0072B2", "//", "Service blocked"),
    EventKind.THROTTLING: ("#E69F00", "..", "Throttling"),
    EventKind.PLATFORM_OUTAGE: ("#009E73", "xx", "Platform outage (not censorship)"),
    EventKind.PROBE_OFFLINE: ("#7F7F7F", "--", "Probe offline"),
}
BAR_HEIGHT = 0.6
LABEL_MIN_SHARE = 0.07  # a bar narrower than this share of the axis gets no method label


def _when(t: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(t, dt.UTC)


def _day(t: float) -> float:
    """matplotlib's date number: days since its default epoch, 1970-01-01 UTC."""
    return t / 86400.0


def _utc(t: float) -> str:
    return _when(t).strftime("%Y-%m-%d %H:%M UTC")


def draw(
    events: Sequence[Event],
    out: IO[bytes],
    *,
    image_format: Literal["png", "svg"],
    since: float | None = None,
    until: float | None = None,
    now: float | None = None,
    subtitle: str = "",
) -> None:
    """Draw the events between since and until (default: their own span) into `out`."""
    ends = [e.end if e.end is not None else (now or e.updated or e.start) for e in events]
    lo = since if since is not None else min((e.start for e in events), default=0.0)
    hi = until if until is not None else max(ends, default=lo + 3600.0)
    if hi <= lo:
        hi = lo + 3600.0
    lanes = sorted({lane_of(e) for e in events})  # by scope first: a country's rows together
    height = 2.2 + 0.42 * max(len(lanes), 1)
    fig = Figure(figsize=(11.0, height), layout="constrained")
    ax = fig.subplots()
    _bars(ax, events, ends, lanes, lo, hi)
    ax.set_yticks(range(len(lanes)), list(reversed(lanes)), fontsize=9)
    ax.set_ylim(-0.8, max(len(lanes), 1) - 0.2)
    ax.set_xlim(_day(lo), _day(hi))
    locator = AutoDateLocator(tz=dt.UTC)  # type: ignore[no-untyped-call] # unannotated
    ax.xaxis.set_major_locator(locator)
    formatter = ConciseDateFormatter(locator, tz=dt.UTC)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_formatter(formatter)
    ax.set_xlabel("Time (UTC)")
    ax.grid(axis="x", color="#BBBBBB", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if not events:
        ax.text(
            0.5,
            0.5,
            "No events in this range",
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=12,
            color="#444444",
        )
    title = f"Balise — disruptions from {_utc(lo)} to {_utc(hi)}"
    fig.suptitle(title, fontsize=13, fontweight="bold")
    if subtitle:
        ax.set_title(subtitle, fontsize=9, color="#333333", loc="left")
    _legend(fig, events)
    fig.savefig(out, format=image_format, dpi=150, metadata=_metadata(image_format))


def _bars(
    ax: Axes,
    events: Sequence[Event],
    ends: Sequence[float],
    lanes: list[str],
    lo: float,
    hi: float,
) -> None:
    span = _day(hi) - _day(lo)
    for event, end in zip(events, ends, strict=True):
        colour, hatch, _ = KIND_STYLE[event.kind]
        y = len(lanes) - 1 - lanes.index(lane_of(event))
        x0 = _day(max(event.start, lo))
        x1 = _day(min(end, hi))
        ongoing = event.end is None
        ax.broken_barh(
            [(x0, max(x1 - x0, span * 0.002))],
            (y - BAR_HEIGHT / 2, BAR_HEIGHT),
            facecolors=colour,
            edgecolor="black" if ongoing else "white",
            linestyle="--" if ongoing else "-",
            hatch=hatch or None,
            hatchcolor="white",
            linewidth=1.0 if ongoing else 0.8,
        )
        method = METHOD_TEXT.get(event.method or "", event.method or "")
        label = method + (" → ongoing" if ongoing else "")
        if label and (x1 - x0) > span * LABEL_MIN_SHARE:
            ax.text(
                (x0 + x1) / 2,
                y,
                label,
                ha="center",
                va="center",
                fontsize=8,
                color="black",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none"},
            )


def _legend(fig: Figure, events: Sequence[Event]) -> None:
    kinds = [k for k in KIND_STYLE if any(e.kind == k for e in events)]
    handles = [
        Patch(
            facecolor=KIND_STYLE[k][0],
            hatch=KIND_STYLE[k][1] or None,
            edgecolor="white",
            label=KIND_STYLE[k][2],
        )
        for k in kinds
    ]
    if any(e.end is None for e in events):
        handles.append(Patch(facecolor="white", edgecolor="black", linestyle="--", label="ongoing"))
    if handles:
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncols=min(len(handles), 4),
            frameon=False,
            fontsize=9,
        )


def _metadata(image_format: str) -> dict[str, str | None]:
    # No creation date: the same data gives the same file, which a report can cite.
    return {"Date": None} if image_format == "svg" else {"Software": "Balise"}
