"""Helm's ``toYaml``: sigs.k8s.io/yaml (JSON round trip, then go-yaml v2's emitter).

The text matters, not only the data: it is spliced into the manifest (and into the requester's
server-patch annotation verbatim), and templates inside values are evaluated on it. So this
module copies the emitter's choices: keys in go-yaml's order, block style, sequences not
indented inside maps, the quoting style per string, literal blocks for multi-line strings and
folding of long lines at column 80.
"""

from __future__ import annotations

import functools
import math
import re
from decimal import Decimal
from typing import Any

from migrate.chart.gotmpl import GoInt, format_float

BEST_WIDTH = 80
INDENT = 2

_BOOLISH = set("y Y yes Yes YES on On ON true True TRUE n N no No NO off Off OFF false False FALSE".split())
_NULLISH = {"", "~", "null", "Null", "NULL"}
_SPECIAL_FLOATS = {
    ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
    ".nan", ".NaN", ".NAN",
}
_INT_RE = re.compile(r"^[-+]?(?:0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|[0-9]+)$")
_FLOAT_RE = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_DOT_FLOAT_RE = re.compile(r"^\.[0-9]+(?:[eE][-+]?[0-9]+)?$")
_BASE60_RE = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")
_TIMESTAMP_RE = re.compile(
    r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
    r"(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?"
    r"(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)?$"
)


def to_yaml(value: Any) -> str:
    """The text of ``{{ toYaml value }}`` (no trailing newline); "" where Helm's conversion
    fails (toYaml swallows the error)."""
    try:
        data = json_round_trip(value)
    except _Unconvertible:
        return ""
    return "\n".join(_Emitter().document(data))


# --------------------------------------------------------------------------------------------
# JSON round trip: what the value looks like when go-yaml gets it back from JSON

_NEL = "\x85"
_NEL_RUN = re.compile(" *\x85+ *")


class _Unconvertible(Exception):
    """go-yaml cannot read the JSON text back (control characters, a NEL in a key)."""


def _reader_rejects(text: str) -> bool:
    """Raw characters go-yaml's reader refuses (JSON escapes the C0 controls itself)."""
    return any(
        0x7F <= ord(ch) <= 0x9F and ch != _NEL or ord(ch) in (0xFFFE, 0xFFFF) for ch in text
    )


def _fold_nel(text: str) -> str:
    """A raw NEL in a JSON string is a line break to go-yaml: double-quoted folding applies."""
    if _NEL not in text:
        return text

    def fold(match: re.Match[str]) -> str:
        count = match.group().count(_NEL)
        return " " if count == 1 else "\n" * (count - 1)

    return _NEL_RUN.sub(fold, text)


def _json_string(text: str, key: bool = False) -> str:
    if _reader_rejects(text) or (key and _NEL in text):
        raise _Unconvertible(text)
    return _fold_nel(text)


def json_round_trip(value: Any) -> Any:
    """Numbers become float64 and back: integral ones are ints when go-yaml can read them as
    such, others floats. Strings come back as go-yaml reads them from JSON."""
    if isinstance(value, dict):
        return {_json_string(str(k), key=True): json_round_trip(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_round_trip(v) for v in value]
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, GoInt):
        return int(value)
    if isinstance(value, (int, float)):
        return _number_after_json(float(value))
    return _json_string(str(value))


def _number_after_json(number: float) -> int | float:
    """Go's JSON text of a float64 (shortest round-trip digits, 'f' form below 1e21) as
    go-yaml reads it back: an int64 or uint64 when integral and in range, else a float."""
    if math.isfinite(number) and number == int(number) and abs(number) < 1e21:
        whole = int(Decimal(repr(number)))
        if -(2**63) <= whole < 2**64:
            return whole
    return number


# --------------------------------------------------------------------------------------------
# Key order (go-yaml v2's keyList.Less)


def _int64(number: int) -> int:
    """Wrap like Go's int64 arithmetic."""
    return (number + 2**63) % 2**64 - 2**63


def _key_less(a: str, b: str) -> bool:
    ar, br = a, b
    for i in range(min(len(ar), len(br))):
        if ar[i] == br[i]:
            continue
        al, bl = ar[i].isalpha(), br[i].isalpha()
        if al and bl:
            return ar[i] < br[i]
        if al or bl:
            return bl
        an = bn = 0
        if ar[i] == "0" or br[i] == "0":
            j = i - 1
            while j >= 0 and ar[j].isdecimal():
                if ar[j] != "0":
                    an = bn = 1
                    break
                j -= 1
        ai = i
        while ai < len(ar) and ar[ai].isdecimal():
            an = _int64(an * 10 + ord(ar[ai]) - 48)
            ai += 1
        bi = i
        while bi < len(br) and br[bi].isdecimal():
            bn = _int64(bn * 10 + ord(br[bi]) - 48)
            bi += 1
        if an != bn:
            return an < bn
        if ai != bi:
            return ai < bi
        return ar[i] < br[i]
    return len(ar) < len(br)


def sorted_keys(mapping: dict[str, Any]) -> list[str]:
    """Map keys in the order go-yaml v2 writes them."""

    def compare(a: str, b: str) -> int:
        if _key_less(a, b):
            return -1
        if _key_less(b, a):
            return 1
        return 0

    return sorted(mapping, key=functools.cmp_to_key(compare))


# --------------------------------------------------------------------------------------------
# Scalars


def _resolves_to_non_string(text: str) -> bool:
    """Whether go-yaml v2 would read this plain scalar as something other than a string."""
    if text in _BOOLISH or text in _NULLISH or text in _SPECIAL_FLOATS:
        return True
    if text.startswith("."):  # go-yaml tries strconv.ParseFloat on the text as it is
        return bool(_DOT_FLOAT_RE.match(text))
    if not text or text[0] not in "+-0123456789":  # go-yaml's resolve hint: a plain string
        return False
    plain = text.replace("_", "")
    if _INT_RE.match(plain) or _FLOAT_RE.match(plain):
        return True
    if _TIMESTAMP_RE.match(text):
        return True
    return bool(_BASE60_RE.match(text))


def _is_printable(ch: str) -> bool:
    code = ord(ch)
    return (
        code == 0x0A
        or 0x20 <= code <= 0x7E
        or 0xA0 <= code <= 0xD7FF
        or (0xE000 <= code <= 0xFFFD and code != 0xFEFF)
    )


_WHITE = " \t\r\n\x85\u2028\u2029"


def _has_block_indicator(value: str) -> bool:
    """Whether a plain scalar would read as YAML structure in block context."""
    if value.startswith(("---", "...")):
        return True
    first = value[0]
    followed_by_ws = len(value) == 1 or value[1] in _WHITE
    if first in "#,[]{}&*!|>'\"%@`" or (first in "?:-" and followed_by_ws):
        return True
    for i in range(1, len(value)):
        after = i + 1 >= len(value) or value[i + 1] in _WHITE
        if value[i] == ":" and after or value[i] == "#" and value[i - 1] in _WHITE:
            return True
    return False


class _Analysis:
    """yaml_emitter_analyze_scalar: which styles a string may use."""

    def __init__(self, value: str) -> None:
        self.block_plain = self.single_allowed = True
        self.block_allowed = bool(value)
        if not value:
            return
        breaks = [ch in "\r\n\x85\u2028\u2029" for ch in value]
        spaces = [ch == " " for ch in value]
        pairs = list(zip(value, value[1:]))
        break_space = any(a in "\r\n\x85\u2028\u2029" and b == " " for a, b in pairs)
        space_break = any(a == " " and b in "\r\n\x85\u2028\u2029" for a, b in pairs)
        special = not all(_is_printable(ch) for ch in value)
        if spaces[0] or breaks[0] or spaces[-1] or breaks[-1] or any(breaks):
            self.block_plain = False
        if spaces[-1]:
            self.block_allowed = False
        if break_space:
            self.block_plain = self.single_allowed = False
        if space_break or special:
            self.block_plain = self.single_allowed = self.block_allowed = False
        if _has_block_indicator(value):
            self.block_plain = False


def _style(value: str, simple_key: bool) -> str:
    """'plain', 'single', 'double' or 'literal', as go-yaml v2 chooses for a string."""
    analysis = _Analysis(value)
    can_plain = not _resolves_to_non_string(value)
    if "\n" in value:
        style = "literal"
    elif can_plain:
        style = "plain"
    else:
        style = "double"
    if style == "plain":
        if not analysis.block_plain or (not value and simple_key):
            style = "single"
    if style == "single" and not analysis.single_allowed:
        style = "double"
    if style == "literal" and (not analysis.block_allowed or simple_key):
        style = "double"
    return style


_DQ_ESCAPES = {
    "\0": "0", "\a": "a", "\b": "b", "\t": "t", "\n": "n", "\v": "v", "\f": "f", "\r": "r",
    "\x1b": "e", '"': '"', "\\": "\\", "\x85": "N", "\xa0": "_", "\u2028": "L", "\u2029": "P",
}


_BREAKS = "\n\r\x85\u2028\u2029"
SIMPLE_KEY_LIMIT = 128


class _Writer:
    """Accumulates output lines and tracks the column, for go-yaml's line folding. A raw
    line separator (U+2028/U+2029) resets the column without starting a new output line."""

    def __init__(self) -> None:
        self.lines: list[str] = [""]
        self._column0 = 0

    @property
    def column(self) -> int:
        return len(self.lines[-1]) - self._column0

    def write(self, text: str) -> None:
        self.lines[-1] += text

    def raw_break(self, ch: str) -> None:
        self.lines[-1] += ch
        self._column0 = len(self.lines[-1])

    def pad(self, indent: int) -> None:
        self.write(" " * max(indent - self.column, 0))

    def newline(self, indent: int) -> None:
        if self._column0 and self._column0 == len(self.lines[-1]):
            self.pad(indent)  # right after a raw line separator go-yaml only indents
            return
        self.lines.append(" " * indent)
        self._column0 = 0

    def break_line(self) -> None:
        self.lines.append("")
        self._column0 = 0


class _Emitter:
    def __init__(self) -> None:
        self.out = _Writer()

    def document(self, data: Any) -> list[str]:
        if isinstance(data, dict) and data:
            self._mapping(data, 0, first=True)
        elif isinstance(data, list) and data:
            self._sequence(data, 0, first=True)
        else:
            self._scalar(data, INDENT, lead="", simple_key=False)
        return self.out.lines

    # -- nodes ---------------------------------------------------------------------------

    def _mapping(self, data: dict[str, Any], indent: int, first: bool) -> None:
        for index, key in enumerate(sorted_keys(data)):
            if not (first and index == 0):
                self.out.newline(indent)
            if _is_simple_key(key):
                self._scalar(key, indent + INDENT, lead="", simple_key=True)
                self.out.write(":")
                self._value(data[key], indent)
            else:
                self.out.write("?")
                self._scalar(key, indent + INDENT, lead=" ", simple_key=False)
                self.out.newline(indent)
                self.out.write(":")
                self._complex_value(data[key], indent)

    def _value(self, value: Any, indent: int) -> None:
        if isinstance(value, dict) and value:
            self.out.newline(indent + INDENT)
            self._mapping(value, indent + INDENT, first=True)
        elif isinstance(value, list) and value:
            self.out.newline(indent)
            self._sequence(value, indent, first=True)  # sequences are not indented in maps
        else:
            self._scalar(value, indent + INDENT, lead=" ", simple_key=False)

    def _complex_value(self, value: Any, indent: int) -> None:
        """The value after a ``?`` key's ``:``: collections start on the same line."""
        self._inline(value, indent)

    def _inline(self, value: Any, indent: int) -> None:
        """A node that starts on the current line: a non-empty collection or a scalar."""
        if isinstance(value, dict) and value:
            self.out.write(" ")
            self._mapping(value, indent + INDENT, first=True)
        elif isinstance(value, list) and value:
            self.out.write(" ")
            self._sequence(value, indent + INDENT, first=True)
        else:
            self._scalar(value, indent + INDENT, lead=" ", simple_key=False)

    def _sequence(self, data: list[Any], indent: int, first: bool) -> None:
        for index, item in enumerate(data):
            if not (first and index == 0):
                self.out.newline(indent)
            self.out.write("-")
            self._inline(item, indent)

    # -- scalars -------------------------------------------------------------------------

    def _scalar(self, value: Any, indent: int, lead: str, simple_key: bool) -> None:
        """Write a scalar after its indicator; `indent` is where continuation lines go."""
        if isinstance(value, dict):
            self.out.write(lead + "{}")
        elif isinstance(value, list):
            self.out.write(lead + "[]")
        elif value is None:
            self.out.write(lead + "null")
        elif isinstance(value, bool):
            self.out.write(lead + ("true" if value else "false"))
        elif isinstance(value, int):
            self.out.write(lead + str(value))
        elif isinstance(value, float):
            self.out.write(lead + _float_text(value))
        else:
            self.out.write(lead)
            self._string(str(value), indent, simple_key)

    def _string(self, value: str, indent: int, simple_key: bool) -> None:
        style = _style(value, simple_key)
        if style == "plain":
            self._folded(value, indent, allow_breaks=not simple_key, quote="")
        elif style == "single":
            self._folded(value, indent, allow_breaks=not simple_key, quote="'")
        elif style == "double":
            self._double(value, indent, allow_breaks=not simple_key)
        else:
            self._literal(value, indent)

    def _folded(self, value: str, indent: int, allow_breaks: bool, quote: str) -> None:
        """Plain or single-quoted text, folded at a space once past the best width."""
        self.out.write(quote)
        spaces = breaks = False
        for i, ch in enumerate(value):
            if ch == " ":
                nxt = value[i + 1] if i + 1 < len(value) else ""
                fold = (
                    allow_breaks
                    and not spaces
                    and self.out.column > BEST_WIDTH
                    and nxt != " "
                    and (not quote or 0 < i < len(value) - 1)
                )
                if fold:
                    self.out.newline(indent)
                else:
                    self.out.write(ch)
                spaces = True
            elif ch in _BREAKS:
                self.out.raw_break(ch)
                breaks = True
            else:
                if breaks:
                    self.out.pad(indent)
                self.out.write("''" if ch == "'" and quote else ch)
                spaces = breaks = False
        self.out.write(quote)

    def _double(self, value: str, indent: int, allow_breaks: bool) -> None:
        escape_all = value.startswith("\ufeff")  # go-yaml escapes everything after a leading BOM
        self.out.write('"')
        spaces = False
        for i, ch in enumerate(value):
            if escape_all or not _is_printable(ch) or ch in "\ufeff" + _BREAKS + '"\\':
                self.out.write("\\" + _escape_code(ch))
                spaces = False
            elif ch == " ":
                fold = (
                    allow_breaks
                    and not spaces
                    and self.out.column > BEST_WIDTH
                    and 0 < i < len(value) - 1
                )
                if fold:
                    self.out.newline(indent)
                    if value[i + 1] == " ":
                        self.out.write("\\")
                else:
                    self.out.write(ch)
                spaces = True
            else:
                self.out.write(ch)
                spaces = False
        self.out.write('"')

    def _literal(self, value: str, indent: int) -> None:
        hint = str(INDENT) if value[0] == " " or value[0] in _BREAKS else ""
        if value[-1] not in _BREAKS:
            chomp = "-"
        elif len(value) == 1 or value[-2] in _BREAKS:
            chomp = "+"
        else:
            chomp = ""
        self.out.write("|" + hint + chomp)
        self.out.break_line()
        breaks = True
        for ch in value:
            if ch == "\n":
                self.out.break_line()
                breaks = True
            elif ch in _BREAKS:
                self.out.raw_break(ch)
                breaks = True
            else:
                if breaks:
                    self.out.pad(indent)
                    breaks = False
                self.out.write(ch)
        if self.out.lines[-1] == "":
            self.out.lines.pop()


def _is_simple_key(key: str) -> bool:
    """go-yaml writes a key as ``? key`` when it spans lines or is longer than 128 bytes."""
    return not any(ch in _BREAKS for ch in key) and len(key.encode("utf-8")) <= SIMPLE_KEY_LIMIT


def _escape_code(ch: str) -> str:
    if ch in _DQ_ESCAPES:
        return _DQ_ESCAPES[ch]
    code = ord(ch)
    if code <= 0xFF:
        return f"x{code:02X}"
    if code <= 0xFFFF:
        return f"u{code:04X}"
    return f"U{code:08X}"


def _float_text(value: float) -> str:
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    return format_float(value)
