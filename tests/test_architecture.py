"""The architecture stays visible: imports point ui -> kiosk -> hal and office -> kiosk, and the code stays
ruff clean."""

from __future__ import annotations

import ast
import json
import os
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


# -- the typed core (issue 9) ----------------------------------------------------------------------------
#: The one module of kiosk/ that builds the kiosk's parts.
ASSEMBLY = ROOT / "kiosk" / "assembly.py"
#: The module that turns events into capabilities and status.
STATE = ROOT / "kiosk" / "state.py"
#: Parts only the builder constructs (``Outbox(...)``, ``IngestClient.from_config(...)``, ...).
BUILT_ONCE = ("Outbox", "SyncWorker", "IngestClient")
#: Names that hold a device; a ``hasattr`` on one probes for what its type should say.
DEVICE_NAMES = {"device", "camera", "pad", "signature_pad", "printer", "power", "ups"}
#: The longest a function in kiosk/, hal/ or ui/ may be.
MAX_FUNCTION_LINES = 80
#: Functions split on another branch at the time of writing (the delivery branch splits export_bundle); the
#: merge removes them from here, and the test then holds them to the limit like the rest.
SPLIT_ELSEWHERE: set[str] = set()


def _python_files(*layers: str) -> list[Path]:
    return sorted(path for layer in layers for path in (ROOT / layer).rglob("*.py"))


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def _name(node: ast.expr) -> str:
    """The last name of ``a.b.c`` or ``c`` (empty for anything else)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call):
        return _name(node.func)
    return ""


def _any_fields(path: Path, classes: tuple[str, ...]) -> list[str]:
    """``Class.field: annotation`` for each field of ``classes`` in ``path`` annotated with ``Any``."""
    found = []
    for node in _tree(path).body:
        if not (isinstance(node, ast.ClassDef) and node.name in classes):
            continue
        for item in node.body:
            if isinstance(item, ast.AnnAssign):
                annotation = ast.unparse(item.annotation)
                if "Any" in annotation.replace("[", " ").replace("]", " ").replace("|", " ").split():
                    found.append(f"{node.name}.{ast.unparse(item.target)}: {annotation}")
    return found


def _device_probes(path: Path) -> list[str]:
    """``hasattr``/``getattr`` calls on something named like a device (or a ``devices.get(...)``)."""
    probes = []
    for node in ast.walk(_tree(path)):
        if not (isinstance(node, ast.Call) and _name(node.func) in ("hasattr", "getattr") and node.args):
            continue
        probed = node.args[0]
        if _name(probed) in DEVICE_NAMES or (isinstance(probed, ast.Call) and _name(probed) == "get"):
            probes.append(f"{path.name}:{node.lineno} {ast.unparse(node)}")
    return probes


def _constructions(path: Path) -> list[str]:
    """Calls that construct one of :data:`BUILT_ONCE`: ``Outbox(...)``, ``IngestClient.from_config(...)``."""
    found = []
    for node in ast.walk(_tree(path)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        called = _name(func) if _name(func) in BUILT_ONCE else ""
        if not called and isinstance(func, ast.Attribute) and _name(func.value) in BUILT_ONCE:
            called = _name(func.value)
        if called:
            found.append(f"{path.name}:{node.lineno} {ast.unparse(func)}(...)")
    return found


def _long_functions(path: Path, root: Path = ROOT) -> list[str]:
    """Functions of ``path`` over :data:`MAX_FUNCTION_LINES` lines (:data:`SPLIT_ELSEWHERE` aside)."""
    long = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            lines = node.end_lineno - node.lineno + 1 if node.end_lineno else 0
            if f"{path.relative_to(root)}:{node.name}" in SPLIT_ELSEWHERE:
                continue
            if lines > MAX_FUNCTION_LINES:
                long.append(f"{path.relative_to(root)}:{node.lineno} {node.name}: {lines} lines")
    return long


def test_the_checks_below_find_what_they_look_for(tmp_path: Path) -> None:
    body = "\n".join(f"    x = {n}" for n in range(MAX_FUNCTION_LINES))
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from typing import Any\n"
        "class Kiosk:\n    outbox: Any\n    sync: SyncWorker | Any\n    journey: Journey\n"
        "def probe(camera, devices):\n"
        "    return hasattr(camera, 'reading') or getattr(devices.get('power'), 'reading', None)\n"
        "def build(config):\n"
        "    return Outbox(path), kiosk.sync.SyncWorker(o, c), IngestClient.from_config(config), Other()\n"
        f"def long():\n{body}\n",
        encoding="utf-8",
    )
    assert _any_fields(bad, ("Kiosk",)) == ["Kiosk.outbox: Any", "Kiosk.sync: SyncWorker | Any"]
    assert len(_device_probes(bad)) == 2
    assert [found.split()[1] for found in _constructions(bad)] == [
        "Outbox(...)",
        "kiosk.sync.SyncWorker(...)",
        "IngestClient.from_config(...)",
    ]
    assert _long_functions(bad, tmp_path) == [f"bad.py:10 long: {MAX_FUNCTION_LINES + 1} lines"]


def test_the_kiosk_the_builder_returns_is_typed_without_any() -> None:
    assert "class Kiosk" in ASSEMBLY.read_text(encoding="utf-8"), "kiosk/assembly.py defines the typed Kiosk"
    untyped = _any_fields(ASSEMBLY, ("Kiosk", "MaintenanceParts"))
    assert not untyped, "the Kiosk's parts must be typed, not Any:\n" + "\n".join(untyped)


def test_no_hasattr_probes_on_devices() -> None:
    probes = [probe for path in _python_files("kiosk", "ui") for probe in _device_probes(path)]
    assert not probes, "a device's type says what it can do; no probing:\n" + "\n".join(probes)


def test_the_state_module_imports_neither_pygame_nor_the_ui() -> None:
    modules = {module for _line, module, _top in _imports(STATE)}
    assert modules, "kiosk/state.py imports something"
    assert not modules & {"pygame", "ui"}, f"kiosk/state.py imports {modules & {'pygame', 'ui'}}"


def test_only_the_builder_constructs_the_outbox_the_sync_worker_and_the_ingest_client() -> None:
    found = [
        f"{path.relative_to(ROOT).parent}/{call}"
        for path in _python_files("kiosk")
        if path != ASSEMBLY
        for call in _constructions(path)
    ]
    assert not found, "kiosk/assembly.py alone builds these parts:\n" + "\n".join(found)


def test_no_function_is_longer_than_80_lines() -> None:
    long = [found for path in _python_files("kiosk", "hal", "ui") for found in _long_functions(path)]
    assert not long, f"split these by meaning (at most {MAX_FUNCTION_LINES} lines):\n" + "\n".join(long)


_WALK_PROBE = """
import json, sys
import kiosk.face_check, ui.kiosk_app

walk, open_check = ui.kiosk_app.walk_everything, kiosk.face_check.FaceCheckProcess.open
found = {"children": []}

def open_and_note(self):
    open_check(self)
    found["children"].append(self.pid)

def walk_and_look(app, view, kiosk, *args, **kwargs):
    result = walk(app, view, kiosk, *args, **kwargs)
    kiosk.face_check.close().result(timeout=120)
    found["modules"] = sorted(sys.modules)
    return result

kiosk.face_check.FaceCheckProcess.open = open_and_note
ui.kiosk_app.walk_everything = walk_and_look
from kiosk.cli import main
code = main(["run", "--simulate", "--autopilot", "--languages", "id", "--config", sys.argv[1]])
print(json.dumps(found))
sys.exit(code)
"""


def test_a_full_autopilot_walk_never_loads_opencv_in_the_kiosk_process(tmp_path: Path) -> None:
    # Every service to the receipt, then the degraded and idle screens: the face check ran (the autopilot
    # waits for its guidance on the photo step), in child processes; OpenCV never entered the kiosk's own.
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'[kiosk]\nid = "no-opencv"\ndata_dir = "{tmp_path / "data"}"\n\n'
        '[server]\nurl = "http://127.0.0.1:9/"\nlab = true\n',
        encoding="utf-8",
    )
    env = {"SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy", "GPIOZERO_PIN_FACTORY": "mock"}
    done = subprocess.run(
        [sys.executable, "-c", _WALK_PROBE, str(config)],
        env={**{k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}, **env},
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert [m for m in found["modules"] if m.split(".")[0] == "cv2"] == []
    assert "kiosk.photo_quality" in found["modules"]  # its types and worker; the check ran elsewhere
    assert found["children"] and None not in found["children"]  # opened on the way to each photo step
    assert [pid for pid in found["children"] if Path(f"/proc/{pid}").exists()] == []  # every one reaped
