"""`balise fleet add|revoke|list`: the registry, and the broker files that follow it."""

from pathlib import Path

from balise import enrollment, signing
from balise.config import ConfigError
from collector import broker_auth, fleet
from collector.settings import CollectorSettings, FleetSettings, load_settings


def _fleet(config: Path) -> FleetSettings:
    settings: CollectorSettings = load_settings(config)
    if settings.fleet is None:
        raise ConfigError(f"{config}: field fleet: missing; a [fleet] table names the registry")
    return settings.fleet


def _read_passwords(path: Path) -> dict[str, str]:
    """user → the whole `user:hash` line, in file order."""
    if not path.exists():
        return {}
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return {line.split(":", 1)[0]: line for line in lines if line and not line.startswith("#")}


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.touch(mode=0o640)
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def _sync_broker(settings: FleetSettings, registry: fleet.Registry, new: dict[str, str]) -> None:
    """Keep Mosquitto's password file and ACL in step; `new` holds fresh clear passwords."""
    active = [p for p, r in registry.probes.items() if r.revoked is None]
    if settings.mosquitto_password_file:
        path = Path(settings.mosquitto_password_file)
        lines = _read_passwords(path)
        wanted = {settings.collector_user, *active}
        lines = {user: line for user, line in lines.items() if user in wanted}
        for user, password in new.items():
            lines[user] = broker_auth.password_line(user, password).strip()
        _write_private(path, "".join(f"{line}\n" for line in lines.values()))
    if settings.mosquitto_acl_file:
        _write_private(
            Path(settings.mosquitto_acl_file), broker_auth.acl(settings.collector_user, active)
        )


def add(config: Path, code: str, *, note: str = "") -> int:
    settings = _fleet(config)
    try:
        probe_id, public_key = enrollment.parse(code)
        path = Path(settings.registry)
        registry = fleet.add(fleet.load(path), probe_id, public_key, note=note)
    except ValueError as exc:
        print(f"balise fleet add: {exc}")
        return 2
    fleet.save(path, registry)
    fresh = {probe_id: broker_auth.new_password()} if settings.mosquitto_password_file else {}
    if settings.mosquitto_password_file and settings.collector_user not in _read_passwords(
        Path(settings.mosquitto_password_file)
    ):
        fresh[settings.collector_user] = broker_auth.new_password()
    _sync_broker(settings, registry, fresh)
    print(f"enrolled {probe_id}")
    for user, password in fresh.items():
        print(f"mqtt credentials for {user}: username {user!r}, password {password!r}")
    if fresh:
        print("Reload Mosquitto (SIGHUP or `systemctl reload mosquitto`) to apply them.")
    return 0


def revoke(config: Path, probe_id: str) -> int:
    settings = _fleet(config)
    path = Path(settings.registry)
    try:
        registry = fleet.revoke(fleet.load(path), probe_id)
    except fleet.FleetError as exc:
        print(f"balise fleet revoke: {exc}")
        return 2
    fleet.save(path, registry)
    _sync_broker(settings, registry, {})
    print(f"revoked {probe_id}: its messages are rejected from now on")
    return 0


def list_probes(config: Path) -> int:
    registry = fleet.load(Path(_fleet(config).registry))
    for probe_id, record in sorted(registry.probes.items()):
        state = "revoked" if record.revoked else "active"
        key = signing.fingerprint(signing.public_key_from_text(record.public_key))
        print(f"{probe_id:24} {state:8} {key} {record.note}")
    print(f"{len(registry.probes)} probes")
    return 0
