"""The `balise` command. Each subcommand imports its own modules, so `balise probe`
on a Pi never loads collector code."""

import argparse
import asyncio
import logging
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from balise.config import ConfigError

Handler = Callable[[argparse.Namespace], int]

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)?$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration(text: str) -> float:
    """`30s`, `2m`, `1.5h`, `500ms` or plain seconds."""
    match = _DURATION.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (try 30s, 2m, 1h)")
    return float(match.group(1)) * _UNIT[match.group(2) or "s"]


def _demo(args: argparse.Namespace) -> int:
    from balise.demo.run import run_demo  # noqa: PLC0415 - lazy: keep the probe's start-up light

    return asyncio.run(
        run_demo(duration_s=args.duration, http_port=args.port, catalog=args.catalog)
    )


def _probe_run(args: argparse.Namespace) -> int:
    from probe.main import run  # noqa: PLC0415 - lazy, see module docstring

    return asyncio.run(run(args.config))


def _probe_check(args: argparse.Namespace) -> int:
    from probe.main import check  # noqa: PLC0415 - lazy, see module docstring

    return asyncio.run(check(args.config, catalog=args.catalog))


def _probe_enroll(args: argparse.Namespace) -> int:
    from probe.main import enroll  # noqa: PLC0415 - lazy, see module docstring

    return enroll(args.config, qr=not args.no_qr)


def _fleet(args: argparse.Namespace) -> int:
    from collector import fleet_admin  # noqa: PLC0415 - lazy, see module docstring

    if args.action == "add":
        return fleet_admin.add(args.config, args.code, note=args.note)
    if args.action == "revoke":
        return fleet_admin.revoke(args.config, args.probe)
    return fleet_admin.list_probes(args.config)


def _collector_run(args: argparse.Namespace) -> int:
    from collector.main import run  # noqa: PLC0415 - lazy, see module docstring

    return asyncio.run(run(args.config))


def _lab_run(args: argparse.Namespace) -> int:
    from balise.lab.runner import run_lab  # noqa: PLC0415 - lazy, see module docstring

    return run_lab(
        args.mode,
        args.files,
        args.json,
        influx_url=args.influx_url,
        keep_sqlite=args.keep_sqlite,
        parallel=args.parallel,
    )


def _lab_clean(_: argparse.Namespace) -> int:
    from balise.lab.netns.cleanup import clean_all  # noqa: PLC0415 - lazy, see module docstring

    removed = clean_all()
    for item in removed:
        print(f"removed {item}")
    print(f"{len(removed)} lab leftovers removed")
    return 0


def _bench_durability(args: argparse.Namespace) -> int:
    from balise.bench.durability import bench_durability  # noqa: PLC0415 - lazy, see module docstring

    return bench_durability(
        probes=args.probes, minutes=args.minutes, round_s=args.round_s, json_out=args.json
    )


def _bench_detector(args: argparse.Namespace) -> int:
    from balise.bench.detector import bench_detector  # noqa: PLC0415 - lazy, see module docstring

    return bench_detector(
        probes=args.probes, targets=args.targets, rounds=args.rounds, json_out=args.json
    )


def _bench_ingest(args: argparse.Namespace) -> int:
    from balise.bench.ingest import bench_ingest  # noqa: PLC0415 - lazy, see module docstring

    return bench_ingest(
        probes=args.probes,
        targets=args.targets,
        seconds=args.seconds,
        rate=args.rate,
        json_out=args.json,
        publishers=args.publishers,
    )


def _bench_influx(args: argparse.Namespace) -> int:
    from balise.bench.influx import bench_influx  # noqa: PLC0415 - lazy, see module docstring

    return bench_influx(
        probes=args.probes,
        targets=args.targets,
        rounds=args.rounds,
        batch=args.batch,
        json_out=args.json,
    )


def _bench_probe(args: argparse.Namespace) -> int:
    from balise.bench.probe import bench_probe  # noqa: PLC0415 - lazy, see module docstring

    return bench_probe(
        rounds=args.rounds, json_out=args.json, python=args.python, round_s=args.round_s
    )


def _export(args: argparse.Namespace) -> int:
    from collector.exports.command import run_export  # noqa: PLC0415 - lazy, see module docstring

    filters = {name: getattr(args, name) for name in EXPORT_FILTERS}
    return run_export(
        args.what,
        args.format,
        filters,
        sqlite=args.sqlite,
        config=args.config,
        output=args.output,
        influx=getattr(args, "influx", None),
        database=getattr(args, "database", "balise"),
    )


def _import_ooni(args: argparse.Namespace) -> int:
    from collector.ooni.command import run_import  # noqa: PLC0415 - lazy, see module docstring

    return run_import(
        args.files,
        sqlite=args.sqlite,
        config=args.config,
        catalog=args.catalog,
        dry_run=args.dry_run,
    )


EXPORT_FILTERS = (
    "since",
    "until",
    "country",
    "region",
    "asn",
    "access",
    "platform",
    "kind",
    "probe",
)
EXPORT_FORMATS = {
    "events": ("csv", "json", "stop"),
    "timeline": ("csv", "json", "png", "svg"),
    "measurements": ("csv", "json", "ooni"),
}


def _store_arguments(command: argparse.ArgumentParser, *, influx: bool) -> None:
    where = command.add_mutually_exclusive_group(required=True)
    where.add_argument("--sqlite", type=Path, default=None, help="the collector's SQLite file")
    where.add_argument("--config", type=Path, default=None, help="the collector's settings")
    if influx:
        where.add_argument("--influx", default=None, metavar="URL", help="an InfluxDB 1.x server")
        command.add_argument("--database", default="balise", help="its database (balise)")


def _data_parsers(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    export = commands.add_parser("export", help="events, timelines, measurements").add_subparsers(
        dest="what", required=True
    )
    for what, formats in EXPORT_FORMATS.items():
        one = export.add_parser(what, help=f"export {what} ({', '.join(formats)})")
        _store_arguments(one, influx=what != "measurements")
        one.add_argument("--format", choices=formats, default=formats[0])
        one.add_argument("--output", "-o", type=Path, default=None, help="default: stdout")
        for name in EXPORT_FILTERS:
            help_text = (
                "ISO 8601, UTC unless an offset is given" if name in {"since", "until"} else None
            )
            one.add_argument(f"--{name}", default=None, help=help_text)
        one.set_defaults(handler=_export)
    imports = commands.add_parser("import", help="other sources").add_subparsers(
        dest="source", required=True
    )
    ooni = imports.add_parser("ooni", help="OONI measurements (.json, .jsonl, .jsonl.gz)")
    ooni.add_argument("files", nargs="+", type=Path, metavar="FILE")
    where = ooni.add_mutually_exclusive_group(required=True)
    where.add_argument("--sqlite", type=Path, default=None, help="the collector's SQLite file")
    where.add_argument("--config", type=Path, default=None, help="the collector's settings")
    where.add_argument("--dry-run", action="store_true", help="classify and list, store nothing")
    ooni.add_argument("--catalog", type=Path, default=None, help="map inputs to this catalog")
    ooni.set_defaults(handler=_import_ooni)


def _dashboards_generate(_: argparse.Namespace) -> int:
    from dashboards.command import run_generate  # noqa: PLC0415 - lazy, see module docstring

    return run_generate()


def _dashboards_check(args: argparse.Namespace) -> int:
    from dashboards.command import run_check  # noqa: PLC0415 - lazy, see module docstring

    return run_check(args.influx_url, args.db)


def _dashboards_push(args: argparse.Namespace) -> int:
    from dashboards.command import run_push  # noqa: PLC0415 - lazy, see module docstring

    return run_push(args.grafana_url, args.token, influx_url=args.influx_url, database=args.db)


def _dashboards_parsers(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    boards = commands.add_parser("dashboards", help="Grafana dashboards").add_subparsers(
        dest="action", required=True
    )
    generate = boards.add_parser("generate", help="render dashboards/json and provisioning")
    generate.set_defaults(handler=_dashboards_generate)
    check = boards.add_parser("check", help="run every panel's queries against InfluxDB 1.x")
    check.add_argument("--influx-url", required=True, metavar="URL")
    check.add_argument("--db", default="balise", metavar="NAME")
    check.set_defaults(handler=_dashboards_check)
    push = boards.add_parser("push", help="upload data source, dashboards, alert rules")
    push.add_argument("--grafana-url", required=True, metavar="URL")
    push.add_argument("--token", required=True, help="a Grafana service account token")
    push.add_argument(
        "--influx-url",
        default="http://127.0.0.1:8086",
        metavar="URL",
        help="InfluxDB as Grafana reaches it (default http://127.0.0.1:8086)",
    )
    push.add_argument("--db", default="balise", metavar="NAME")
    push.set_defaults(handler=_dashboards_push)


def parser() -> argparse.ArgumentParser:  # noqa: PLR0915 - one subcommand after another
    top = argparse.ArgumentParser(prog="balise", description=__doc__)
    top.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    commands = top.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="broker, collector, one probe and a status page")
    demo.add_argument(
        "--for",
        dest="duration",
        type=duration,
        default=None,
        metavar="DURATION",
        help="stop by itself after DURATION (e.g. 30s) and print a JSON summary",
    )
    demo.add_argument("--port", type=int, default=8470, help="status page port (default 8470)")
    demo.add_argument("--catalog", type=Path, default=None, help="measure this catalog file")
    demo.set_defaults(handler=_demo)

    probe = commands.add_parser("probe", help="the measurement probe").add_subparsers(
        dest="action", required=True
    )
    run = probe.add_parser("run", help="measure and publish, round after round")
    run.add_argument("--config", type=Path, required=True)
    run.set_defaults(handler=_probe_run)
    check = probe.add_parser("check", help="one round, shown as a table")
    check.add_argument("--config", type=Path, default=None)
    check.add_argument("--catalog", type=Path, default=None)
    check.set_defaults(handler=_probe_check)

    enroll = probe.add_parser("enroll", help="make the probe's key; print its enrollment code")
    enroll.add_argument("--config", type=Path, required=True)
    enroll.add_argument("--no-qr", action="store_true", help="print no QR code")
    enroll.set_defaults(handler=_probe_enroll)

    fleet = commands.add_parser("fleet", help="the probe registry").add_subparsers(
        dest="action", required=True
    )
    fadd = fleet.add_parser("add", help="enroll a probe from its enrollment code")
    fadd.add_argument("code")
    fadd.add_argument("--note", default="", help="who hosts it, where (kept in the registry)")
    frevoke = fleet.add_parser("revoke", help="reject a probe's messages from now on")
    frevoke.add_argument("probe")
    flist = fleet.add_parser("list", help="every enrolled probe")
    for sub in (fadd, frevoke, flist):
        sub.add_argument("--config", type=Path, required=True, help="the collector's settings")
        sub.set_defaults(handler=_fleet)

    collector = commands.add_parser("collector", help="the collector").add_subparsers(
        dest="action", required=True
    )
    crun = collector.add_parser("run", help="subscribe, store, detect")
    crun.add_argument("--config", type=Path, required=True)
    crun.set_defaults(handler=_collector_run)

    lab = commands.add_parser("lab", help="scenario lab").add_subparsers(
        dest="action", required=True
    )
    lrun = lab.add_parser("run", help="run scenario files and print the scorecard")
    lrun.add_argument("--mode", choices=("sim", "netns"), default="sim")
    lrun.add_argument("--json", type=Path, default=None, metavar="OUT")
    lrun.add_argument("--influx-url", default=None, help="also store results in this InfluxDB")
    lrun.add_argument(
        "--keep-sqlite",
        type=Path,
        default=None,
        metavar="DIR",
        help="sim mode: keep each scenario's SQLite store in DIR, for balise export",
    )
    lrun.add_argument(
        "--parallel", type=int, default=1, metavar="N", help="netns mode: N labs at a time"
    )
    lrun.add_argument("files", nargs="+", type=Path, metavar="FILE")
    lrun.set_defaults(handler=_lab_run)
    lclean = lab.add_parser("clean", help="remove leftovers of a crashed netns run")
    lclean.set_defaults(handler=_lab_clean)

    bench = commands.add_parser("bench", help="benchmarks").add_subparsers(
        dest="action", required=True
    )
    bdur = bench.add_parser("durability", help="nothing lost or stored twice through faults")
    bdur.add_argument("--probes", type=int, default=12)
    bdur.add_argument("--minutes", type=float, default=10.0)
    bdur.add_argument("--round-s", type=float, default=1.0, help="seconds between rounds")
    bdur.add_argument("--json", type=Path, default=None)
    bdur.set_defaults(handler=_bench_durability)
    bdet = bench.add_parser("detector", help="detector memory and CPU per round")
    bdet.add_argument("--probes", type=int, default=10_000)
    bdet.add_argument("--targets", type=int, default=40)
    bdet.add_argument("--rounds", type=int, default=5)
    bdet.add_argument("--json", type=Path, default=None)
    bdet.set_defaults(handler=_bench_detector)
    bing = bench.add_parser("ingest", help="collector results/s against a bare consumer")
    bing.add_argument("--probes", type=int, default=13_400)
    bing.add_argument("--targets", type=int, default=11)
    bing.add_argument("--seconds", type=float, default=60.0)
    bing.add_argument("--rate", type=float, default=15_000.0, help="results/s offered")
    bing.add_argument("--publishers", type=int, default=2, help="publishing processes")
    bing.add_argument("--json", type=Path, default=None)
    bing.set_defaults(handler=_bench_ingest)
    binf = bench.add_parser("influx", help="InfluxDB's CPU per result, as the collector writes")
    binf.add_argument("--probes", type=int, default=13_400)
    binf.add_argument("--targets", type=int, default=11)
    binf.add_argument("--rounds", type=int, default=10, help="rounds per probe")
    binf.add_argument("--batch", type=int, default=5000, help="rounds per request")
    binf.add_argument("--json", type=Path, default=None)
    binf.set_defaults(handler=_bench_influx)
    bprobe = bench.add_parser("probe", help="probe memory, CPU, start-up and traffic")
    bprobe.add_argument("--rounds", type=int, default=10)
    bprobe.add_argument("--python", default=None, help="run the probe with this interpreter")
    bprobe.add_argument(
        "--round-s", type=float, default=None, help="the schedule (default: the probe's)"
    )
    bprobe.add_argument("--json", type=Path, default=None)
    bprobe.set_defaults(handler=_bench_probe)
    _data_parsers(commands)
    _dashboards_parsers(commands)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    handler: Handler = args.handler
    try:
        return handler(args)
    except ConfigError as exc:
        print(f"balise: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
