"""Every sentence the pages may show, gathered from the templates and the code (for the catalog test)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
TEMPLATES = ROOT / "office" / "web" / "templates"
SOURCES = [
    *sorted((ROOT / "office" / "web").glob("*.py")),
    ROOT / "office" / "counter.py",
    ROOT / "office" / "fleet.py",
    ROOT / "office" / "notices.py",
    ROOT / "office" / "accounts.py",
]
_TEMPLATE_CALL = re.compile(r"""_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\s*\)""")
#: Call name -> index of the positional argument that is a catalog sentence.
_SENTENCE_ARGS = {"Refused": 0, "CounterError": 0, "NoticeError": 0, "Refusal": 1, "Alert": 2, "_": 0}
_ACTION_ARGS = {"audit": 1, "audit_in": 2}


def _name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def template_sentences() -> set[str]:
    found = set()
    for path in TEMPLATES.glob("*.html"):
        for double, single in _TEMPLATE_CALL.findall(path.read_text()):
            found.add(double or single)
    return found


def code_sentences() -> tuple[set[str], set[str]]:
    """(sentences, audit action names) used in the page code and the office modules they show."""
    sentences, actions = set(), set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = _name(node.func)
            for table, bucket in ((_SENTENCE_ARGS, sentences), (_ACTION_ARGS, actions)):
                index = table.get(name or "")
                if index is not None and len(node.args) > index:
                    arg = node.args[index]
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        bucket.add(arg.value)
    return sentences, actions
