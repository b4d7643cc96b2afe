"""Stand-ins for what is particular to one release in a render of the library part.

The library part is rendered with markers instead of the literals' values, the
namePrefix and the namespace. The markers show where each literal lands (so a
literal the patches overwrite everywhere can be left out without another
render), and the render no longer depends on the release, so one cached render
serves every release on the same building blocks.
"""

from __future__ import annotations

import json
import re
from typing import Any


class Markers:
    """Stand-ins for the literals in a render of the library part.

    Each run of letters and digits in a literal becomes a token ``h2k<literal>m<run>x``; every
    other character stays, so a replacement that splits the value on a delimiter ('/', '://',
    a quote) splits the stand-in the same way. :meth:`restore` puts the values back in a render.
    """

    def __init__(self, literals: dict[str, str]) -> None:
        self.names = list(literals)
        self.marked: dict[str, str] = {}
        self._runs: dict[str, str] = {}
        for index, (name, value) in enumerate(literals.items()):
            runs = _RUN.findall(value)
            if not runs:  # nothing to keep apart: the whole value is one token
                self._runs[_token(index, 0)] = value
                self.marked[name] = _token(index, 0)
                continue
            counter = iter(range(len(runs)))
            self.marked[name] = _RUN.sub(lambda m, i=index: self._run(i, next(counter), m.group()), value)

    def _run(self, index: int, run: int, text: str) -> str:
        token = _token(index, run)
        self._runs[token] = text
        return token

    def restore(self, value: Any) -> Any:
        """``value`` (a parsed render) with every token replaced by the text it stands for."""
        if isinstance(value, str):
            return _TOKEN.sub(lambda m: self._runs.get(m.group(), m.group()), value) if "h2k" in value else value
        if isinstance(value, dict):
            return {k: self.restore(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.restore(v) for v in value]
        return value

    def live(self, objects: list[dict]) -> set[str]:
        """The literals whose tokens still show in ``objects``."""
        seen = {int(m.group(1)) for m in _TOKEN.finditer(json.dumps(objects, default=str)) if m.group() in self._runs}
        return {name for index, name in enumerate(self.names) if index in seen}


_RUN = re.compile(r"[A-Za-z0-9]+")
_TOKEN = re.compile(r"h2k(\d+)m(\d+)x")


def _token(index: int, run: int) -> str:
    return f"h2k{index}m{run}x"


PREFIX_TOKEN = "h2kprefixx"
NAMESPACE_TOKEN = "h2knamespacex"
_CONTEXT = re.compile(f"{PREFIX_TOKEN}|{NAMESPACE_TOKEN}")


def substitute_context(value: Any, context: dict[str, str]) -> Any:
    """``value`` with the namePrefix and namespace tokens replaced by what they stand for."""
    if isinstance(value, str):
        return _CONTEXT.sub(lambda m: context[m.group()], value) if "h2k" in value else value
    if isinstance(value, dict):
        return {substitute_context(k, context): substitute_context(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute_context(v, context) for v in value]
    return value
