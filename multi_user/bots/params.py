"""A bot's declared parameters and their validation.

A bot declares ``params = {"fast": Param(int, 10, min=2, help="...")}``; what the owner gives (from the
command line, the headless host or the dialog) is checked against it before the bot starts. A bad
value is refused with a message naming the parameter and what it accepts, and nothing starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from multi_user.errors import BadInput

TYPES = {int: "int", float: "float", str: "str", bool: "bool"}


@dataclass(frozen=True)
class Param:
    type: type
    default: Any
    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] | None = None
    help: str = ""

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise TypeError(f"a bot parameter is one of int, float, str, bool, not {self.type!r}")

    def describe(self) -> dict[str, Any]:
        """The schema as JSON (``bots list --json``, the parameters dialog)."""
        return {"type": TYPES[self.type], "default": self.default, "min": self.min, "max": self.max,
                "choices": list(self.choices) if self.choices is not None else None, "help": self.help}

    def convert(self, name: str, value: Any) -> Any:
        v = self._typed(name, value)
        if self.choices is not None and v not in self.choices:
            raise BadInput(f"parameter {name!r} must be one of {', '.join(map(str, self.choices))}, not {value!r}",
                           field=name)
        if self.min is not None and v < self.min:
            raise BadInput(f"parameter {name!r} must be at least {self.min}, not {value!r}", field=name)
        if self.max is not None and v > self.max:
            raise BadInput(f"parameter {name!r} must be at most {self.max}, not {value!r}", field=name)
        return v

    def _typed(self, name: str, value: Any) -> Any:
        want = TYPES[self.type]
        if self.type is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
                return value.lower() in ("true", "yes", "1")
            raise BadInput(f"parameter {name!r} must be true or false, not {value!r}", field=name)
        if self.type is str:
            if isinstance(value, str):
                return value
            raise BadInput(f"parameter {name!r} must be text, not {value!r}", field=name)
        if isinstance(value, bool):
            raise BadInput(f"parameter {name!r} must be a number ({want}), not {value!r}", field=name)
        try:
            v = self.type(value) if isinstance(value, (int, float, str)) else None
        except ValueError:
            v = None
        if v is None or (self.type is int and isinstance(value, float) and not value.is_integer()) or (
                isinstance(v, float) and not math.isfinite(v)):
            raise BadInput(f"parameter {name!r} must be a number ({want}), not {value!r}", field=name)
        return v


def validate(schema: dict[str, Param], given: Any) -> dict[str, Any]:
    """The full parameter set: ``given`` checked against ``schema``, defaults for the rest."""
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise BadInput(f"parameters are an object like {{\"name\": value}}, not {given!r}")
    unknown = sorted(set(given) - set(schema))
    if unknown:
        known = ", ".join(sorted(schema)) or "none"
        raise BadInput(f"unknown parameter {unknown[0]!r}; this bot takes: {known}", field=unknown[0])
    return {name: p.convert(name, given[name]) if name in given else p.default for name, p in schema.items()}


def parse_assignments(pairs: list[str]) -> dict[str, str]:
    """``["fast=5", "symbol=EURUSD"]`` (the command line) as a dict; values are converted by ``validate``."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise BadInput(f"a parameter is NAME=VALUE, not {pair!r}")
        out[name.strip()] = value.strip()
    return out
