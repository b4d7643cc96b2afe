"""Stand-ins for what is particular to one release in a render of the library part.

The library part is rendered with markers instead of the literals' values, the
namePrefix and the namespace. The markers show where each literal lands (so a
literal the patches overwrite everywhere can be left out without another
render), and the render no longer depends on the release, so one cached render
serves every release on the same building blocks.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
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
            runs = itertools.count()

            def stand_in(match: re.Match[str], index: int = index) -> str:
                token = _token(index, next(runs))
                self._runs[token] = match.group()
                return token

            marked = _RUN.sub(stand_in, value)
            if marked == value:  # no letters or digits to keep apart: the whole value is one token
                self._runs[_token(index, 0)] = value
                marked = _token(index, 0)
            self.marked[name] = marked

    def restore(self, value: Any) -> Any:
        """``value`` (a parsed render, or a message) with every token replaced by the text it stands for."""
        return _map_strings(value, lambda text: _TOKEN.sub(lambda m: self._runs.get(m.group(), m.group()), text))

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
_CONTEXT = re.compile(r"h2kprefix[0-9a-f]*x|h2knamespace[0-9a-f]*x")


def context_tokens(tag: str) -> tuple[str, str]:
    """The namePrefix and namespace tokens of one render of the library part, ``tag`` (hex
    digits) naming its building blocks: renders of different building blocks then name their
    objects differently and can be built in one Kustomize process."""
    return f"h2kprefix{tag}x", f"h2knamespace{tag}x"


def substitute_context(value: Any, context: dict[str, str]) -> Any:
    """``value`` with the namePrefix and namespace tokens replaced by what they stand for."""
    return _map_strings(value, lambda text: _CONTEXT.sub(lambda m: context.get(m.group(), m.group()), text))


def _map_strings(value: Any, replace: Callable[[str], str]) -> Any:
    """``value`` with ``replace`` applied to every string holding a token, map keys included."""
    if isinstance(value, str):
        return replace(value) if "h2k" in value else value
    if isinstance(value, dict):
        return {_map_strings(k, replace): _map_strings(v, replace) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_strings(v, replace) for v in value]
    return value
