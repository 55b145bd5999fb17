"""The architecture stays visible: imports point ui -> kiosk -> hal and office -> kiosk, and the code stays
ruff clean."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: What each layer must never import.
FORBIDDEN = {
    "hal": ("kiosk", "ui", "pygame", "office"),
    "kiosk": ("ui", "pygame", "office"),
    "ui": ("office",),
    "office": ("ui", "hal", "pygame"),
}
#: What the office service may take from the kiosk: the record and how it is sealed, the receipt's reference
#: code, and the two wire formats both ends must agree on byte for byte: kiosk.protocol (receipts, problem
#: documents) and kiosk.usb_export (bundles and acknowledgement files).
OFFICE_MAY_USE = {
    "kiosk.records",
    "kiosk.sealing",
    "kiosk.reference",
    "kiosk.protocol",
    "kiosk.usb_export",
    # The counter (issue 12): the receipt QR's signed format, and the services' document checklists.
    "kiosk.receipt_qr",
    "kiosk.services",
}
#: The composition root: the one module of kiosk/ that builds the UI (lazily, inside a function).
COMPOSITION_ROOT = ROOT / "kiosk" / "commands" / "run.py"


def _imports(path: Path) -> list[tuple[int, str, bool]]:
    """(line, top-level module, imported at module level?) for every import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    top_level = set(map(id, tree.body))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [(node.lineno, name.split(".")[0], id(node) in top_level) for name in names]
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_imports_point_down(layer: str) -> None:
    wrong = []
    for path in sorted((ROOT / layer).rglob("*.py")):
        for line, module, at_top in _imports(path):
            if module not in FORBIDDEN[layer]:
                continue
            if path == COMPOSITION_ROOT and not at_top:
                continue
            wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not wrong, "layers must import downwards only (ui -> kiosk -> hal):\n" + "\n".join(wrong)


def test_office_takes_from_the_kiosk_only_the_shared_formats() -> None:
    wrong = []
    for path in sorted((ROOT / "office").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] if node.module != "kiosk" else [f"kiosk.{a.name}" for a in node.names]
            else:
                continue
            wrong += [
                f"{path.relative_to(ROOT)}:{node.lineno} imports {name}"
                for name in names
                if name.split(".")[0] == "kiosk" and name not in OFFICE_MAY_USE
            ]
    assert not wrong, (
        "office/ may take from kiosk/ only " + ", ".join(sorted(OFFICE_MAY_USE)) + ":\n" + "\n".join(wrong)
    )


def test_no_office_function_is_longer_than_80_lines() -> None:
    long = []
    for layer in ("office",):
        for path in sorted((ROOT / layer).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    length = (node.end_lineno or node.lineno) - node.lineno + 1
                    if length > 80:
                        long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)")
    assert not long, "functions over 80 lines:\n" + "\n".join(long)


def test_the_composition_root_imports_the_ui_only_lazily() -> None:
    assert any(module == "ui" and not at_top for _, module, at_top in _imports(COMPOSITION_ROOT))
    assert not any(module in ("ui", "pygame") and at_top for _, module, at_top in _imports(COMPOSITION_ROOT))


@pytest.mark.skipif(
    shutil.which("ruff") is None and not (Path(sys.executable).parent / "ruff").exists(),
    reason="ruff is not installed (pip install -e .[dev])",
)
@pytest.mark.parametrize("command", [["check"], ["format", "--check"]])
def test_ruff_is_clean(command: list[str]) -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    result = subprocess.run(
        [ruff, *command, "kiosk", "hal", "ui", "office", "scripts", "tests"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
