"""Converting YAML values and raw command-line strings to the annotated config types, strictly."""

from __future__ import annotations

import dataclasses
import math
import typing
from typing import Annotated, Literal

from configs.schema import ConfigError
from configs.suggest import did_you_mean

# HED_SOURCE: configs/validate.py imports it from here
from models.config import HED_SOURCE, Registered  # noqa: F401

_BOOL_WORDS = {
    "true": True,
    "yes": True,
    "on": True,
    "1": True,
    "false": False,
    "no": False,
    "off": False,
    "0": False,
}


def _yaml_hint(value) -> str:
    """Why a value that looks right in the file arrived as something else."""
    if isinstance(value, bool):
        return " (YAML reads unquoted yes/no/on/off/true/false as a boolean: quote it)"
    if value is None:
        return " (an empty YAML value is null: write '' for an empty string)"
    return " (YAML read a number: quote it)" if isinstance(value, (int, float)) else ""


def _number(value) -> int | float | None:
    """An int/float, or a string holding one (CLI values; YAML reads `1e-4` without a dot as a
    string)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        for parse in (int, float):
            try:
                return parse(value.strip())
            except ValueError:
                pass
    return None


def _coerce(value, tp, key: str):
    """Convert a YAML value or a raw CLI string to the annotated field type, or raise naming the
    key.

    Strict on purpose: a str field never takes a YAML boolean or number (`mixed_precision: no` is
    YAML's False, and str(False) is no precision), a bool never takes 2 or "maybe", an int never
    takes 2.5 or true.
    """
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(
                f"{key}: {value!r} is not a mapping; set its fields, e.g. {key}.<field>=value"
            )
        return from_dict(tp, value, prefix=key + ".")
    origin = typing.get_origin(tp)
    if origin is Annotated:
        base, *marks = typing.get_args(tp)
        value = _coerce(value, base, key)
        for mark in marks:
            if isinstance(mark, Registered):
                _check_registered(value, mark.kind, key)
        return value
    if origin is list:
        (item_tp,) = typing.get_args(tp)
        if isinstance(value, str):  # CLI: a,b,c or [a, b, c]
            value = [
                v.strip()
                for v in value.strip().removeprefix("[").removesuffix("]").split(",")
                if v.strip()
            ]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: {value!r} is not a list; write [a, b] in YAML or {key}=a,b")
        return [_coerce(v, item_tp, key) for v in value]
    if origin is Literal:
        allowed = typing.get_args(tp)
        if isinstance(value, str) and value in allowed:
            return value
        hint = did_you_mean(value, allowed) + " " if isinstance(value, str) else ""
        raise ConfigError(
            f"{key}: {value!r} is not allowed{_yaml_hint(value)}; {hint}choose "
            f"one of {', '.join(allowed)}"
        )
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(
            f"{key}: {value!r} is not a string{_yaml_hint(value)}; write it in quotes"
        )
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _BOOL_WORDS:
            return _BOOL_WORDS[value.strip().lower()]
        if type(value) is int and value in (0, 1):
            return bool(value)
        raise ConfigError(f"{key}: {value!r} is not a boolean; use true or false")
    number = _number(value)
    if tp is int:
        if number is not None and (isinstance(number, int) or number.is_integer()):
            return int(number)
        raise ConfigError(f"{key}: {value!r} is not an integer; write a whole number")
    if tp is float:
        if number is not None and math.isfinite(number):
            return float(number)
        raise ConfigError(f"{key}: {value!r} is not a finite number; write e.g. 0.5 or 1.0e-4")
    raise TypeError(f"config field {key} has a type the reader does not handle: {tp}")


def _check_registered(value: str, kind: str, key: str) -> None:
    """A name of a models.registry registry: the registered names are the allowed ones (plugins
    included)."""
    from models.registry import (
        REGISTRIES,
    )  # read at run time: a plugin may have registered more names

    table = REGISTRIES[kind]
    if value not in table:
        hint = did_you_mean(value, table)
        raise ConfigError(
            f"{key}: {value!r} is not a registered {kind}; {hint + ' ' if hint else ''}choose one "
            f"of {', '.join(table)}, or "
            "load the plugin that registers it (plugins: in the config, --plugins on the CLI)"
        )


def from_dict(cls, data: dict, prefix: str = ""):
    """Build dataclass `cls` from a nested dict; unknown keys and wrongly typed values raise
    ConfigError."""
    hints = typing.get_type_hints(cls, include_extras=True)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    keys = [prefix + n for n in sorted(names)]
    if unknown:
        hints = " ".join(h for k in unknown if (h := did_you_mean(prefix + k, keys)))
        raise ConfigError(
            f"unknown config key(s) {', '.join(prefix + k for k in unknown)}; "
            f"{hints + ' ' if hints else ''}"
            f"valid keys here: {', '.join(prefix + n for n in sorted(names))}"
        )
    return cls(**{k: _coerce(v, hints[k], prefix + k) for k, v in data.items()})
