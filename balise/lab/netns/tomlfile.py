"""Writing settings files: TOML has no null, so an unset (None) field is left out."""

from pathlib import Path
from typing import Any

import msgspec
import tomli_w


def write_toml(path: Path, settings: msgspec.Struct) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tomli_w.dumps(_without_none(msgspec.to_builtins(settings))), encoding="utf-8")
    return path


def _without_none(value: Any) -> Any:  # noqa: ANN401 - msgspec's builtins, any shape
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value
