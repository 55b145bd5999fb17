"""Decoding a TOML file strictly into typed structs, with errors a technician can act on.

The config file and the office's service files both go through :func:`decode`: a wrong key, type
or value becomes one line naming the key and, where the type knows it, what is allowed.
"""

from __future__ import annotations

import re
import types
import typing
from typing import Annotated, Literal, TypeVar

import msgspec

T = TypeVar("T")

_AT = re.compile(r"^(?P<msg>.*) - at `\$(?P<path>[^`]*)`$")
_UNKNOWN = re.compile(r"Object contains unknown field `(?P<field>[^`]+)`")
_MISSING = re.compile(r"Object missing required field `(?P<field>[^`]+)`")


class StrictTomlError(ValueError):
    """The text is not valid TOML or does not fit the struct; the message says where and why."""


def decode(text: str | bytes, root: type[T], source: str) -> T:
    """Decode TOML ``text`` into ``root``, raising :class:`StrictTomlError` with ``source: key: problem``."""
    try:
        return msgspec.toml.decode(text, type=root)
    except msgspec.ValidationError as exc:
        raise StrictTomlError(f"{source}: {explain(str(exc), root)}") from None
    except msgspec.DecodeError as exc:
        raise StrictTomlError(f"{source}: not valid TOML ({exc})") from None
    except RecursionError:
        # tomllib parses nested arrays and inline tables recursively: a file nested a few thousand levels deep
        # is an attack or a broken generator, never a config, and deserves the same one line as any other.
        raise StrictTomlError(f"{source}: not valid TOML (nested too deeply)") from None


def explain(message: str, root: type) -> str:
    """Turn msgspec's validation message into ``key: problem (allowed: ...)``."""
    match = _AT.match(message)
    msg, path = (match["msg"], match["path"].lstrip(".")) if match else (message, "")
    key = path or "(top level)"
    if unknown := _UNKNOWN.match(msg):
        full = f"{path}.{unknown['field']}" if path else unknown["field"]
        owner = _struct_at(root, path)
        known = ", ".join(f.name for f in msgspec.structs.fields(owner)) if owner else ""
        return f"{full}: unknown key (known keys here: {known})"
    if missing := _MISSING.match(msg):
        full = f"{path}.{missing['field']}" if path else missing["field"]
        return f"{full}: missing"
    problem = msg[0].lower() + msg[1:]
    allowed = _allowed_values(_type_at(root, path))
    return f"{key}: {problem} (allowed: {allowed})" if allowed else f"{key}: {problem}"


def _type_at(root: type, path: str) -> typing.Any:
    """The declared type at a path like ``camera.backend`` or ``fields[2].label`` (None if unknown)."""
    current: typing.Any = root
    for part in filter(None, re.split(r"\.|(\[\d+\])", path)):
        current = _unwrap(current)
        if part.startswith("["):
            args = typing.get_args(current)
            if not args:
                return None
            current = args[0]
            continue
        try:
            hints = typing.get_type_hints(current, include_extras=True)
        except TypeError:
            return None
        if part not in hints:
            return None
        current = hints[part]
    return current


def _struct_at(root: type, path: str) -> type | None:
    current = _unwrap(_type_at(root, path))
    return current if isinstance(current, type) and issubclass(current, msgspec.Struct) else None


def _unwrap(tp: typing.Any) -> typing.Any:
    """Strip ``Annotated`` and ``X | None`` around a type."""
    while typing.get_origin(tp) is Annotated:
        tp = typing.get_args(tp)[0]
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return _unwrap(args[0])
    return tp


def _allowed_values(tp: typing.Any) -> str:
    """Comma-separated allowed values when ``tp`` is (an optional) Literal, else ''."""
    tp = _unwrap(tp)
    if typing.get_origin(tp) is Literal:
        return ", ".join(repr(v) if isinstance(v, str) else str(v) for v in typing.get_args(tp))
    return ""
