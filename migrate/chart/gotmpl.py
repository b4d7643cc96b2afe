"""Go template value semantics the chart relies on: truthiness, printing, quoting, field access.

Values read from a file are float64 in Helm, so a Python ``int`` coming from values is printed
like a Go float64. Integers the chart computes itself (GPU counts, sizes) are ``GoInt``.
"""

from __future__ import annotations

import math
import struct
from decimal import Decimal
from typing import Any

from migrate.errors import ChartRefusal

NO_VALUE = "<no value>"


class GoInt(int):
    """An int64 computed by a template function (mul, div, int): printed as plain digits."""


def truthy(value: Any) -> bool:
    """Go template truthiness: false, 0, "", nil, empty list and empty map are false."""
    if value is None or value is False:
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value != 0
    if isinstance(value, (str, list, dict, tuple)):
        return len(value) > 0
    return True


def format_float(value: float) -> str:
    """Go's ``strconv.FormatFloat(v, 'g', -1, 64)`` (what ``fmt`` prints for a float64)."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if str(value).startswith("-") else "0"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    return _g_text(bool(sign), "".join(map(str, digits)), int(exponent))


def format_float32(value: float) -> str:
    """Go's ``strconv.FormatFloat(v, 'g', -1, 32)``: rounded to float32, shortest digits."""
    try:
        single = struct.unpack("f", struct.pack("f", value))[0]
    except OverflowError:
        single = math.copysign(math.inf, value)
    if not math.isfinite(single) or single == 0:
        return format_float(single)
    for places in range(9):
        text = f"{single:.{places}e}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == single:
            break
    sign, digits, exponent = Decimal(text).normalize().as_tuple()
    return _g_text(bool(sign), "".join(map(str, digits)), int(exponent))


def _g_text(negative: bool, text: str, exponent: int) -> str:
    """%g of the shortest digits ``text`` times 10**exponent (exponent form when the
    decimal exponent is < -4 or >= 6, as Go's shortest formatting does)."""
    point = len(text) + exponent  # position of the decimal point within the digits
    exp = point - 1
    prefix = "-" if negative else ""
    if exp < -4 or exp >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{text}"
    if point >= len(text):
        return prefix + text + "0" * (point - len(text))
    return f"{prefix}{text[:point]}.{text[point:]}"


def go_print(value: Any) -> str:
    """What ``{{ value }}`` prints (fmt's %v), before Helm removes ``<no value>``."""
    if value is None:
        return NO_VALUE
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, GoInt):
        return str(int(value))
    if isinstance(value, (int, float)):
        return format_float(float(value))
    if isinstance(value, dict):
        items = " ".join(f"{k}:{_fmt_inner(value[k])}" for k in sorted(value))
        return f"map[{items}]"
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(_fmt_inner(v) for v in value) + "]"
    return str(value)


def fmt_value(value: Any) -> str:
    """fmt's %v of a value (nil prints as <nil>, as nested in a map or slice)."""
    return "<nil>" if value is None else go_print(value)


_fmt_inner = fmt_value


def go_quote_string(text: str) -> str:
    """Go's ``%q`` of a string (strconv.Quote)."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        elif ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def quote(value: Any) -> str:
    """Sprig's ``quote``: nil gives nothing at all, anything else its %v text in Go quotes."""
    if value is None:
        return ""
    return go_quote_string(value if isinstance(value, str) else go_print(value))


def default(fallback: Any, value: Any) -> Any:
    """Sprig's ``default``: the value if truthy, else the fallback."""
    return value if truthy(value) else fallback


def to_int(value: Any) -> GoInt:
    """Sprig's ``int`` (cast.ToInt, errors give 0)."""
    if value is None:
        return GoInt(0)
    if isinstance(value, bool):
        return GoInt(1 if value else 0)
    if isinstance(value, (int, float)):
        if value != value or value in (float("inf"), float("-inf")):
            return GoInt(0)
        return GoInt(int(value))
    if isinstance(value, str):
        return GoInt(_parse_go_int(value))
    return GoInt(0)


def _parse_go_int(text: str) -> int:
    """strconv.ParseInt(trimZeroDecimal(s), 0, 0); 0 on error."""
    if "." in text:
        whole, _, frac = text.partition(".")
        if frac and set(frac) == {"0"}:
            text = whole
    sign = 1
    body = text
    if body[:1] in "+-" and body:
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    base = 10
    if body[:2].lower() in ("0x", "0o", "0b"):
        base = {"0x": 16, "0o": 8, "0b": 2}[body[:2].lower()]
        body = body[2:]
    elif len(body) > 1 and body.startswith("0"):
        base = 8
    body = body.replace("_", "") if base != 10 else body
    try:
        result = sign * int(body, base) if body and body.isalnum() else 0
    except ValueError:
        return 0
    return result if -(2**63) <= result < 2**63 else 0


def go_int_div(a: int, b: int) -> int:
    """Go integer division (truncates toward zero)."""
    quotient = abs(a) // abs(b)
    return quotient if (a >= 0) == (b >= 0) else -quotient


def nindent(spaces: int, text: str) -> str:
    """Sprig's ``nindent``: a newline, then every line of text indented."""
    return "\n" + indent(spaces, text)


def indent(spaces: int, text: str) -> str:
    """Sprig's ``indent``: every line (even an empty one) gets the padding."""
    pad = " " * spaces
    return pad + text.replace("\n", "\n" + pad)


def type_name(value: Any) -> str:
    """The Go type name of a value read from YAML."""
    if value is None:
        return "interface {}"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, GoInt):
        return "int"
    if isinstance(value, (int, float)):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "[]interface {}"
    return "map[string]interface {}"


def field(obj: Any, path: str, base: str = "") -> Any:
    """Evaluate ``.a.b.c`` on obj like Go templates: a missing map key gives nil; a field of
    nil fails with Helm's nil pointer error; a field of a non-map fails too. ``base`` is the
    values path of obj, for messages."""
    current = obj
    walked = base
    for name in path.strip(".").split("."):
        if current is None:
            raise ChartRefusal(
                f"nil pointer evaluating interface {{}}.{name} (Helm refuses to render); "
                f"{walked or 'the values'} is null or missing; set it (the chart default is a map)",
                key=walked or None,
            )
        if not isinstance(current, dict):
            raise ChartRefusal(
                f"can't evaluate field {name} in type {type_name(current)} (Helm refuses to "
                f"render); {walked} must be a map",
                key=walked or None,
            )
        current = current.get(name)
        walked = f"{walked}.{name}" if walked else name
    return current


def go_string(value: Any, where: str = "") -> str:
    """A string argument of a Sprig function (lower, contains, trunc, ...): other values,
    nil included, make Helm fail with "wrong type for value"."""
    if isinstance(value, str):
        return value
    raise ChartRefusal(
        f"wrong type for value; expected string; got {type_name(value)} (Helm refuses to "
        f"render); {where or 'the value'} must be a string (quote it)",
        key=where or None,
    )


def sprig_trunc(limit: int, text: str) -> str:
    """Sprig's ``trunc``: counts bytes (a negative limit keeps the end). A cut inside a
    multi-byte character gives invalid UTF-8, which Helm's YAML parser refuses."""
    data = text.encode("utf-8")
    if limit >= 0:
        cut = data[:limit] if len(data) > limit else data
    else:
        cut = data[len(data) + limit :] if len(data) + limit > 0 else data
    try:
        return cut.decode("utf-8")
    except UnicodeDecodeError:
        raise ChartRefusal(
            f"YAML parse error: invalid UTF-8 after trunc {limit} of {text!r} (Helm refuses to "
            "render); trunc counts bytes and cuts a multi-byte character; shorten the name"
        ) from None


def has_key(obj: Any, key: str, where: str = "") -> bool:
    """Sprig's ``hasKey``: its first argument must be a map; nil and other values make Helm
    fail ("wrong type for value"). ``where`` is the values path of obj, for messages."""
    if not isinstance(obj, dict):
        raise ChartRefusal(
            "error calling hasKey: wrong type for value; expected map[string]interface {}; "
            f"got {type_name(obj)} (Helm refuses to render); {where or 'the value'} must be a map",
            key=where or None,
        )
    return key in obj


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, GoInt):
        return "int"
    if isinstance(value, (int, float)):
        return "float"
    if isinstance(value, str):
        return "string"
    return "complex"


def go_eq(left: Any, right: Any, key: str) -> bool:
    """Go template ``eq``: nil never equals anything; different basic kinds are an error."""
    if left is None or right is None:
        return False
    if _kind(left) != _kind(right):
        raise ChartRefusal(
            f"error calling eq: incompatible types for comparison (Helm refuses to render); "
            f"{key} must be a {type_name(right) if _kind(right) != 'int' else 'number'}",
            key=key,
        )
    if _kind(left) == "complex":
        raise ChartRefusal("error calling eq: invalid type for comparison", key=key)
    return bool(left == right)


def required(value: Any, message: str, key: str, fix: str) -> Any:
    """Helm's ``required``: fails for nil and the empty string only."""
    if value is None or value == "" and isinstance(value, str):
        raise ChartRefusal(f"{message} (Helm refuses to render); {fix}", key=key)
    return value
