"""Imports only go downwards: model ← shared infrastructure ← probe | collector."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "balise/model": ("probe", "collector", "balise.lab", "balise.cli", "balise.demo", "aiomqtt"),
    "balise/wire.py": ("probe", "collector"),
    "balise/mqtt.py": ("probe", "collector"),
    "balise/config.py": ("probe", "collector"),
    "probe": ("collector", "balise.lab", "balise.demo", "balise.bench"),
    "collector": ("probe", "balise.lab", "balise.demo", "balise.bench"),
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("where", sorted(FORBIDDEN))
def test_no_upward_imports(where):
    base = ROOT / where
    files = [base] if base.is_file() else sorted(base.rglob("*.py"))
    assert files, f"{where} has no Python files"
    bad = [
        f"{f.relative_to(ROOT)} imports {name}"
        for f in files
        for name in imported_modules(f)
        for prefix in FORBIDDEN[where]
        if name == prefix or name.startswith(prefix + ".")
    ]
    assert not bad, "\n".join(bad)
