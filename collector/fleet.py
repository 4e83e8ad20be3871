"""The fleet registry: which probes exist, their public keys, who is revoked.

One JSON file, rewritten atomically by `balise fleet add|revoke`; the running
collector notices a change by its modification time and reloads it, so a
revocation takes effect without a restart.
"""

import os
import time
from pathlib import Path

import msgspec

from balise import signing
from balise.config import ConfigError


class ProbeRecord(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    public_key: str
    added: float
    revoked: float | None = None
    note: str = ""


class Registry(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    version: int = 1
    probes: dict[str, ProbeRecord] = msgspec.field(default_factory=dict)


class FleetError(ValueError):
    """A fleet operation that cannot be done; the message says why."""


def load(path: Path) -> Registry:
    if not path.exists():
        return Registry()
    try:
        return msgspec.json.decode(path.read_bytes(), type=Registry)
    except msgspec.DecodeError as exc:
        raise ConfigError(f"{path}: not a fleet registry: {exc}") from exc


def save(path: Path, registry: Registry) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    with os.fdopen(fd, "wb") as out:
        out.write(msgspec.json.format(msgspec.json.encode(registry)))
        out.flush()
        os.fsync(out.fileno())
    partial.replace(path)


def add(registry: Registry, probe_id: str, public_key: str, *, note: str = "") -> Registry:
    signing.public_key_from_text(public_key)
    known = registry.probes.get(probe_id)
    if known is not None and known.revoked is None and known.public_key != public_key:
        raise FleetError(f"probe {probe_id!r} is enrolled with another key; revoke it first")
    record = ProbeRecord(public_key=public_key, added=time.time(), note=note)
    return Registry(probes={**registry.probes, probe_id: record})


def revoke(registry: Registry, probe_id: str) -> Registry:
    known = registry.probes.get(probe_id)
    if known is None:
        raise FleetError(f"no probe {probe_id!r} in the registry")
    revoked = msgspec.structs.replace(known, revoked=known.revoked or time.time())
    return Registry(probes={**registry.probes, probe_id: revoked})


class Keyring:
    """The registry as the collector uses it: a key per active probe, reloaded on change."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: float | None = None
        self._keys: dict[str, signing.PublicKey] = {}
        self._revoked: frozenset[str] = frozenset()
        self.reload()

    def reload(self) -> bool:
        """Re-read the file if it changed; True when it did."""
        try:
            stamp = self.path.stat().st_mtime
        except FileNotFoundError:
            stamp = None
        if stamp == self._stamp:
            return False
        registry = load(self.path)
        self._keys = {
            probe: signing.public_key_from_text(record.public_key)
            for probe, record in registry.probes.items()
            if record.revoked is None
        }
        self._revoked = frozenset(
            probe for probe, record in registry.probes.items() if record.revoked is not None
        )
        self._stamp = stamp
        return True

    def check(self, probe_id: str, payload: bytes) -> str | None:
        """None when `payload` is signed by the enrolled probe, else the rejection reason."""
        key = self._keys.get(probe_id)
        if key is None:
            return "revoked_probe" if probe_id in self._revoked else "unknown_probe"
        try:
            signing.verify(payload, key)
        except signing.SignatureError:
            return "bad_signature"
        return None
