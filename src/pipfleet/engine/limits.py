"""How deep a Pipfile or lock may nest and how long a number in it may be.

tomllib, json and what reads their output (dict comparison, json.dumps, tomlkit)
recurse once or more per level of nesting, and int() refuses more digits than
``sys.get_int_max_str_digits()``: without these bounds one hostile file stops a
whole run with a RecursionError or ValueError. Files past them are refused with
a PipfileError, before and after parsing; no real Pipfile or lock comes near.
"""

from __future__ import annotations

import re
from typing import Any

from pipfleet.engine.tomlspans import too_deep
from pipfleet.errors import PipfileError

MAX_DEPTH = 64
# Below 640, the lowest limit sys.set_int_max_str_digits accepts, so no configuration
# makes int() refuse a number that passed. tomllib converts integers, packaging each
# version segment, json integers: a long run of digits is refused wherever it is.
MAX_DIGITS = 600
_LONG_NUMBER = re.compile(rf"(?<![0-9_])[0-9](?:_*[0-9]){{{MAX_DIGITS},}}")
TOO_DEEP = f"nesting deeper than {MAX_DEPTH} levels"
TOO_LONG = f"a number with more than {MAX_DIGITS} digits"


def _position(text: str, offset: int) -> tuple[int, int]:
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


def check_text(text: str) -> None:
    """Refuse a TOML or JSON text that nests too deep or spells out too long a number."""
    if (deep := too_deep(text, MAX_DEPTH)) is not None:
        line, column = _position(text, deep)
        raise PipfileError(TOO_DEEP, line=line, column=column)
    if (number := _LONG_NUMBER.search(text)) is not None:
        line, column = _position(text, number.start())
        raise PipfileError(TOO_LONG, line=line, column=column)


def check_depth(data: Any) -> None:
    """Refuse parsed data nesting deeper than MAX_DEPTH (the document itself is level 0).

    The text check cannot see every way of nesting: a dotted table header holds levels
    that the brackets of the values under it add to.
    """
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > MAX_DEPTH:
            raise PipfileError(TOO_DEEP)
        stack.extend((child, depth + 1) for child in children)
