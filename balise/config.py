"""Typed settings files: TOML decoded strictly into frozen structs at start-up.

A bad file stops the program with one message naming the file and the field
(`ConfigError`, which the CLI turns into exit status 2).
"""

from pathlib import Path
from typing import TypeVar

import msgspec

T = TypeVar("T")


class ConfigError(Exception):
    """A settings or data file is missing or wrong; the message names file and field."""


def load_toml(path: Path, kind: type[T]) -> T:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    return decode_toml(raw, kind, source=str(path))


def decode_toml(raw: bytes | str, kind: type[T], *, source: str) -> T:
    try:
        return msgspec.toml.decode(raw, type=kind)
    except msgspec.ValidationError as exc:
        # msgspec says e.g. "Expected `int`, got `str` - at `$.mqtt.port`"
        raise ConfigError(f"{source}: {_field_first(str(exc))}") from exc
    except msgspec.DecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{source}: not UTF-8 text (byte {exc.start})") from exc


def _field_first(message: str) -> str:
    text, sep, where = message.rpartition(" - at `")
    if not sep:
        return message
    return f"field {where.rstrip('`').removeprefix('$.')}: {text}"
