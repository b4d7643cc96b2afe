"""A small Go-template evaluator for the templates users put inside values (Helm's ``tpl``).

Supported: text with ``{{ }}`` actions (and the ``{{-``/``-}}`` trim markers, comments),
pipelines of field chains (``.Values.a.b``, ``.Release.Name``, ``.role``, ``$.x``), string,
number and boolean literals, and the functions ``include`` (the chart's ``fullname``,
``name`` and ``chart`` helpers), ``quote``, ``squote``, ``default``, ``lower``, ``upper``,
``trim``, ``trimSuffix``, ``trimPrefix``, ``trunc``, ``replace``, ``toString``, ``int``,
``printf``, ``toYaml``, ``indent`` and ``nindent``. Control structures (if, range, with,
define, variables) are refused with a ChartRefusal naming the values key.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from migrate.chart import gotmpl, names
from migrate.chart.goyaml import to_yaml
from migrate.errors import ChartRefusal

_RIGHT_TRIM = re.compile(r"\s-$")
# Built-in objects of Helm's root context that the chart model does not have.
_ROOT_ONLY = {"Files": "files", "Subcharts": "subcharts"}
_TOKEN_RE = re.compile(
    r"""\s*(?:
        (?P<str>"(?:[^"\\\n]|\\[^\n])*")
      | (?P<raw>`[^`]*`)
      | (?P<num>[-+]?(?:0[xX][0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?))
      | (?P<field>\$?(?:\.[A-Za-z_][A-Za-z0-9_]*)+|\.|\$)
      | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op>[|()])
    )""",
    re.VERBOSE,
)


class _Unsupported(Exception):
    pass


def _actions(text: str) -> Iterator[tuple[int, int, bool, str, bool]]:
    """The ``{{ ... }}`` actions of ``text`` as Go's lexer finds them: ``(start, end, trim left,
    body, trim right)``. A ``}}`` inside a quoted string, a raw string or a comment does not
    end the action; a string left open at the end of its line is given to the tokenizer,
    which refuses it as Go does. Linear in the text."""
    pos = 0
    while True:
        start = text.find("{{", pos)
        if start < 0:
            return
        i = start + 2
        trim_left = text.startswith("-", i) and i + 1 < len(text) and text[i + 1] in " \t\r\n"
        body_start = i + 2 if trim_left else i
        j = body_start
        while j < len(text) and not text.startswith("}}", j):
            char = text[j]
            if char in "\"'":
                j += 1
                while j < len(text) and text[j] not in (char, "\n"):
                    j += 2 if text[j] == "\\" else 1
                if j >= len(text) or text[j] == "\n":  # left open: the tokenizer refuses it as Go does
                    yield start, len(text), trim_left, text[body_start:], False
                    return
                j += 1
            elif char == "`":
                close = text.find("`", j + 1)
                j = len(text) if close < 0 else close + 1
            elif text.startswith("/*", j):
                close = text.find("*/", j + 2)
                j = len(text) if close < 0 else close + 2
            else:
                j += 1
        if j >= len(text):
            return  # no end: the caller refuses the unclosed action
        body = text[body_start:j]
        trim_right = bool(_RIGHT_TRIM.search(body))
        yield start, j + 2, trim_left, body[:-2] if trim_right else body, trim_right
        pos = j + 2


def render_tpl(text: str, context: dict[str, Any], key: str) -> str:
    """Evaluate ``text`` as Helm's ``tpl`` would with ``context`` as the dot."""
    try:
        return _Template(text, context, key).execute()
    except _Unsupported as exc:
        raise ChartRefusal(
            f"{exc} in a template is not supported by this tool's offline chart model (Helm may "
            "render it); give the release's render with --verify-against MANIFEST or --chart CHART, "
            "or write the value without it",
            key=key,
        ) from None
    except ChartRefusal as exc:
        if exc.key is not None:
            raise
        raise ChartRefusal(str(exc), key=key) from None


class _Template:
    def __init__(self, text: str, context: dict[str, Any], key: str) -> None:
        self.text = text
        self.dot = context
        self.key = key

    def execute(self) -> str:
        out: list[str] = []
        pos = 0
        trim_next = False
        for start, end, trim_left, body, trim_right in _actions(self.text):
            literal = self.text[pos:start]
            if trim_next:
                literal = literal.lstrip(" \t\r\n")
            if trim_left:
                literal = literal.rstrip(" \t\r\n")
            out.append(literal)
            out.append(self._action(body.strip()))
            trim_next = trim_right
            pos = end
        tail = self.text[pos:]
        if "{{" in tail:
            raise ChartRefusal("unclosed action in the template (Helm refuses to render); end each '{{' "
                               "with '}}'")
        out.append(tail.lstrip(" \t\r\n") if trim_next else tail)
        return "".join(out)

    def _action(self, body: str) -> str:
        if body.startswith("/*"):
            if not body.endswith("*/"):
                raise ChartRefusal("comment ends before closing delimiter (Helm refuses to render); end a "
                                   "comment with '*/}}'")
            return ""
        first = body.split(None, 1)[0] if body else ""
        if first in ("if", "else", "end", "range", "with", "define", "template", "block", "break", "continue"):
            raise _Unsupported(f"'{first}' actions")
        if re.search(r":=|\$[A-Za-z_]", body.split('"')[0]):
            raise _Unsupported("template variables")
        tokens = _tokenize(body)
        parser = _Parser(tokens, self)
        value = parser.pipeline()
        if parser.pos != len(tokens):
            raise _Unsupported(f"'{body}'")
        return gotmpl.go_print(value)

    # -- evaluation helpers used by the parser --------------------------------------------

    def field_chain(self, text: str) -> Any:
        if text in (".", "$"):
            return self.dot
        current: Any = self.dot
        names = text.lstrip("$").strip(".").split(".")
        if names[0] in _ROOT_ONLY and isinstance(current, dict) and "Capabilities" in current:
            raise _Unsupported(f"'.{names[0]}' (the chart's {_ROOT_ONLY[names[0]]})")  # Helm has it; the model not
        for name in names:
            if current is None:
                raise ChartRefusal(
                    f"nil pointer evaluating interface {{}}.{name} in the template "
                    f"'{{{{ {text} }}}}' (Helm refuses to render); reference a key that exists",
                    key=self.key,
                )
            if not isinstance(current, dict):
                raise ChartRefusal(
                    f"can't evaluate field {name} in type {gotmpl.type_name(current)} in the "
                    f"template '{{{{ {text} }}}}' (Helm refuses to render)",
                    key=self.key,
                )
            current = current.get(name)
        return current

    def call(self, name: str, args: list[Any]) -> Any:
        func = _FUNCTIONS.get(name)
        if func is None:
            raise _Unsupported(f"the function '{name}'")
        try:
            return func(*args)
        except TypeError:
            raise _Unsupported(f"'{name}' with {len(args)} argument(s)") from None
        except ChartRefusal as exc:
            if exc.key is not None:
                raise
            raise ChartRefusal(f"error calling {name}: {exc}") from None


def _tokenize(body: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(body):
        if body[pos:].strip() == "":
            break
        match = _TOKEN_RE.match(body, pos)
        if not match or match.end() == pos:
            if body[pos:].lstrip().startswith('"'):
                raise ChartRefusal(
                    "unterminated quoted string (Helm refuses to render); a \"...\" string in a "
                    "template cannot span lines (write the value on one line)"
                )
            raise _Unsupported(f"'{body}'")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


class _Parser:
    """Recursive descent over tokens: pipeline := command ('|' command)*."""

    def __init__(self, tokens: list[tuple[str, str]], template: _Template) -> None:
        self.tokens = tokens
        self.pos = 0
        self.template = template

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def pipeline(self) -> Any:
        value = self.command(None, piped=False)
        while self.peek() == ("op", "|"):
            self.pos += 1
            value = self.command(value, piped=True)
        return value

    def command(self, piped_value: Any, piped: bool) -> Any:
        token = self.peek()
        if token is None:
            raise _Unsupported("an empty command")
        if token == ("ident", "nil"):
            raise ChartRefusal("nil is not a command (Helm refuses to render); remove the {{ nil }}")
        if token[0] == "ident" and token[1] not in ("true", "false"):
            self.pos += 1
            args = self.arguments()
            if piped:
                args.append(piped_value)
            return self.template.call(token[1], args)
        if piped:
            raise _Unsupported("piping into a value that is not a function")
        value = self.operand()
        if self.operand_follows():
            raise _Unsupported("calling a field with arguments")
        return value

    def arguments(self) -> list[Any]:
        args: list[Any] = []
        while self.operand_follows():
            args.append(self.operand())
        return args

    def operand_follows(self) -> bool:
        token = self.peek()
        return token is not None and (token[0] != "op" or token[1] == "(")

    def operand(self) -> Any:
        kind, text = self.tokens[self.pos]
        self.pos += 1
        if kind == "str":
            return _unquote(text)
        if kind == "raw":
            return text[1:-1]
        if kind == "num":
            return _number(text)
        if kind == "field":
            return self.template.field_chain(text)
        if kind == "ident":
            if text in ("true", "false"):
                return text == "true"
            if text == "nil":
                return None
            return self.template.call(text, [])
        if text == "(":
            value = self.pipeline()
            if self.peek() != ("op", ")"):
                raise _Unsupported("unbalanced parentheses")
            self.pos += 1
            return value
        raise _Unsupported(f"'{text}'")


def _unquote(text: str) -> str:
    body = text[1:-1]
    escapes = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "'": "'"}
    out = []
    i = 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            out.append(escapes.get(body[i + 1], body[i + 1]))
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


def _number(text: str) -> Any:
    if re.fullmatch(r"[-+]?\d+", text) or text.lower().startswith(("0x", "-0x", "+0x")):
        return gotmpl.GoInt(int(text, 0))
    return float(text)


# --------------------------------------------------------------------------------------------
# Functions


def _include(name: str, arg: Any = None) -> str:
    if not isinstance(arg, dict):
        raise _Unsupported(f"include of {name!r} with a context that is not the root context")
    values = arg.get("Values") or {}
    release = (arg.get("Release") or {}).get("Name", "")
    if name == "llm-d-modelservice.fullname":
        return names.fullname(values, release)
    if name == "llm-d-modelservice.name":
        return names.chart_short_name(values)
    if name == "llm-d-modelservice.chart":
        return names.CHART_LABEL
    raise _Unsupported(f"include of the template {name!r}")


def _printf(fmt: str, *args: Any) -> str:
    """fmt.Sprintf for the verbs %s %d %v %q (no flags or widths), with fmt's error texts
    for wrong types (``%!d(float64=1)``), missing (``%!s(MISSING)``) and extra arguments."""
    parts = re.split(r"(%[-+# 0-9.]*[a-zA-Z%])", fmt)
    out: list[str] = []
    queue = list(args)
    for part in parts:
        if not part.startswith("%") or len(part) < 2:
            out.append(part)
            continue
        verb = part[-1]
        if verb == "%":
            out.append("%")
            continue
        if verb not in "sdvq" or len(part) > 2:
            raise _Unsupported(f"printf verb {part!r}")
        out.append(_printf_verb(verb, queue.pop(0)) if queue else f"%!{verb}(MISSING)")
    if queue:
        extras = ", ".join("<nil>" if v is None else f"{gotmpl.type_name(v)}={gotmpl.fmt_value(v)}" for v in queue)
        out.append(f"%!(EXTRA {extras})")
    return "".join(out)


def _printf_verb(verb: str, value: Any) -> str:
    """One fmt verb applied to one argument (slices and maps element by element)."""
    if value is None:
        return "<nil>" if verb == "v" else f"%!{verb}(<nil>)"
    if verb == "v":
        return gotmpl.fmt_value(value)
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(_printf_verb(verb, item) for item in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{_printf_verb(verb, k)}:{_printf_verb(verb, value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, str) and verb in "sq":
        return value if verb == "s" else gotmpl.go_quote_string(value)
    if isinstance(value, gotmpl.GoInt):
        if verb == "q":
            raise _Unsupported("printf %q of an integer")
        return str(int(value))
    return f"%!{verb}({gotmpl.type_name(value)}={gotmpl.fmt_value(value)})"


def _str(value: Any) -> str:
    """A string parameter of a Sprig function: anything else fails in Helm."""
    return gotmpl.go_string(value)


def _to_string(value: Any) -> str:
    """Sprig's ``toString`` (strval): strings as they are, anything else as fmt's %v (nil is <nil>)."""
    return value if isinstance(value, str) else gotmpl.fmt_value(value)


def _trim_suffix(suffix: Any, text: Any) -> str:
    suffix, text = _str(suffix), _str(text)
    return text[: -len(suffix)] if suffix and text.endswith(suffix) else text


def _trim_prefix(prefix: Any, text: Any) -> str:
    prefix, text = _str(prefix), _str(text)
    return text[len(prefix) :] if prefix and text.startswith(prefix) else text


def _required(message: str, value: Any) -> Any:
    if not gotmpl.truthy(value):
        raise ChartRefusal(f"{message} (Helm refuses to render)")
    return value


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "include": _include,
    "quote": lambda *v: " ".join(gotmpl.quote(x) for x in v if x is not None),
    "squote": lambda *v: " ".join(f"'{_to_string(x)}'" for x in v if x is not None),
    "default": gotmpl.default,
    "lower": lambda s: _str(s).lower(),
    "upper": lambda s: _str(s).upper(),
    "trim": lambda s: _str(s).strip(" \t\r\n"),
    "trimSuffix": _trim_suffix,
    "trimPrefix": _trim_prefix,
    "trunc": lambda n, s: gotmpl.sprig_trunc(int(n), _str(s)),
    "replace": lambda old, new, s: _str(s).replace(_str(old), _str(new)),
    "toString": _to_string,
    "int": gotmpl.to_int,
    "printf": _printf,
    "toYaml": to_yaml,
    "indent": lambda n, s: gotmpl.indent(int(n), _str(s)),
    "nindent": lambda n, s: gotmpl.nindent(int(n), _str(s)),
    "required": _required,
}
