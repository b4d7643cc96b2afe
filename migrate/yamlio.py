"""YAML set-up shared by the whole tool: a safe loader that reads values the way Helm does,
and a dumper whose output PyYAML, Helm and Kustomize all read back to the same data.

Helm reads values files with go-yaml v2 (YAML 1.1) and then converts them to JSON:

* unquoted ``y``/``Y``/``n``/``N``/``yes``/``no``/``on``/``off``/``true``/``false`` (any of
  their usual capitalisations) are booleans, map keys included;
* numbers follow Go's rules (``1e5`` is a number, ``1:20`` is a string);
* timestamps stay strings;
* every map key becomes a string (``n:`` is the key ``"false"``, ``1:`` is ``"1"``).
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

MAX_DEPTH = 100
MAX_NODES = 1_000_000
MAX_EXPANDED_CHARS = 16 << 20  # scalar text once aliases are expanded (values files hold at most 1 MiB)

_BOOL_TRUE = "y Y yes Yes YES on On ON true True TRUE".split()
_BOOL_FALSE = "n N no No NO off Off OFF false False FALSE".split()
_BOOL_RE = re.compile("^(?:" + "|".join(_BOOL_TRUE + _BOOL_FALSE) + ")$")
_NULL_RE = re.compile(r"^(?:~|null|Null|NULL|)$")
# Go's strconv.ParseInt(s, 0, 64) after go-yaml removed the underscores.
_INT_RE = re.compile(r"^[-+]?(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|[0-9][0-9_]*)$")
# go-yaml v2's float pattern (applied after removing underscores).
_FLOAT_RE = re.compile(r"^[-+]?(?:\.[0-9_]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?$")
_SPECIAL_FLOAT_RE = re.compile(r"^(?:[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")


class YamlError(ValueError):
    """A YAML document that cannot be read safely; the message is one line."""


class _HelmResolver(Resolver):
    """Implicit types as go-yaml v2 (Helm) resolves them; no timestamps, no sexagesimals."""


_HelmResolver.yaml_implicit_resolvers = {}
_HelmResolver.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL_RE, list("yYnNtTfFoO"))
_HelmResolver.add_implicit_resolver("tag:yaml.org,2002:null", _NULL_RE, ["~", "n", "N", ""])
_HelmResolver.add_implicit_resolver("tag:yaml.org,2002:int", _INT_RE, list("-+0123456789"))
_HelmResolver.add_implicit_resolver(
    "tag:yaml.org,2002:float", _FLOAT_RE, list("-+0123456789.")
)
_HelmResolver.add_implicit_resolver("tag:yaml.org,2002:float", _SPECIAL_FLOAT_RE, list("-+."))
_HelmResolver.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"), ["<"])


class _HelmConstructor(SafeConstructor):
    """Safe constructor with Go number parsing and string map keys."""

    def construct_yaml_bool(self, node: ScalarNode) -> bool:
        return self.construct_scalar(node) in _BOOL_TRUE

    def construct_yaml_int(self, node: ScalarNode) -> int | float:
        text = str(self.construct_scalar(node)).replace("_", "")
        sign = -1 if text.startswith("-") else 1
        body = text.lstrip("+-")
        base = 10
        if body[:2].lower() in ("0x", "0o", "0b"):
            base = {"0x": 16, "0o": 8, "0b": 2}[body[:2].lower()]
            body = body[2:]
        elif len(body) > 1 and body.startswith("0"):
            base = 8
        try:
            return sign * int(body, base)
        except ValueError:
            return float(text)  # e.g. "09": not octal, Go falls back to float

    def construct_yaml_float(self, node: ScalarNode) -> float:
        text = str(self.construct_scalar(node)).replace("_", "").lower()
        if text.endswith("inf"):
            return -math.inf if text.startswith("-") else math.inf
        if text.endswith("nan"):
            return math.nan
        return float(text)

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[str, Any]:
        """Like SafeConstructor's, but keys become strings as each is read (so that ``1``
        and ``y`` stay distinct keys)."""
        if isinstance(node, MappingNode):
            self.flatten_mapping(node)
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (list, dict)):
                raise yaml.constructor.ConstructorError(
                    None, None, "a map key must be a scalar", key_node.start_mark
                )
            try:
                text = _key_text(key)
            except _KeyError as exc:
                raise yaml.constructor.ConstructorError(
                    None, None, f"{exc} (Helm cannot convert it to JSON; quote the key)", key_node.start_mark
                ) from None
            mapping[text] = self.construct_object(value_node, deep=deep)
        return mapping


_HelmConstructor.add_constructor("tag:yaml.org,2002:bool", _HelmConstructor.construct_yaml_bool)
_HelmConstructor.add_constructor("tag:yaml.org,2002:int", _HelmConstructor.construct_yaml_int)
_HelmConstructor.add_constructor("tag:yaml.org,2002:float", _HelmConstructor.construct_yaml_float)


_FLOAT_KEY_NAMES = {"+Inf": ".inf", "-Inf": "-.inf", "NaN": ".nan"}


def _key_text(key: Any) -> str:
    """The string Helm's YAML-to-JSON conversion (sigs.k8s.io/yaml) makes of a map key:
    strings, int64, float64 (printed at float32 precision) and bools only."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int) and -(2**63) <= key < 2**63:
        return str(key)
    if isinstance(key, int) and 2**63 <= key < 2**64:
        raise _KeyError(f"unsupported map key of type: uint64, key: {key}")
    if isinstance(key, (int, float)):  # integers beyond 64 bits are floats to go-yaml
        from migrate.chart.gotmpl import format_float32  # local: avoid an import cycle

        text = format_float32(float(key))
        return _FLOAT_KEY_NAMES.get(text, text)
    raise _KeyError("unsupported map key of type: %!s(<nil>), key: <nil>")


class _KeyError(Exception):
    """A map key Helm cannot convert to JSON."""


class _LimitedComposer(Composer):
    """Composer that refuses deep nesting and alias expansion beyond fixed limits."""

    def compose_document(self) -> Node:
        self._depth = 0
        self._open_anchors: set[str] = set()
        node = super().compose_document()
        _check_expanded_size(node)
        return node

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) and event.anchor in self._open_anchors:
            raise YamlError(f"line {event.start_mark.line + 1}: anchor {event.anchor!r} value contains itself")
        anchor = None if isinstance(event, yaml.AliasEvent) else getattr(event, "anchor", None)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise YamlError(f"line {event.start_mark.line + 1}: nesting deeper than {MAX_DEPTH} levels")
        if anchor:
            self._open_anchors.add(anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1
            self._open_anchors.discard(anchor)


def _check_expanded_size(root: Node) -> None:
    """Refuse documents whose aliases expand to more than MAX_NODES nodes (alias bombs) or
    MAX_EXPANDED_CHARS characters of scalars (a long string aliased many times)."""
    if root is None:
        return
    nodes, chars, _, _ = expanded_size(root)
    if nodes > MAX_NODES:
        raise YamlError(f"aliases expand to more than {MAX_NODES} nodes")
    if chars > MAX_EXPANDED_CHARS:
        raise YamlError(f"aliases expand to more than {MAX_EXPANDED_CHARS >> 20} MiB of text")


def expanded_size(root: Node) -> tuple[int, int, int, int]:
    """The nodes and scalar characters of a composed document with every alias expanded, and
    the same for its distinct nodes: ``(nodes, chars, distinct_nodes, distinct_chars)``.
    Iterative, linear in the distinct nodes; YamlError for an alias that contains itself."""
    sizes: dict[int, tuple[int, int]] = {}
    open_nodes: set[int] = set()
    distinct_nodes = distinct_chars = 0
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            open_nodes.discard(key)
            nodes, chars = 1, 0
            for child in _children(node):
                child_nodes, child_chars = sizes[id(child)]
                nodes += child_nodes
                chars += child_chars
            sizes[key] = (nodes, chars)
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise YamlError(f"line {node.start_mark.line + 1}: an anchor's value contains itself")
        distinct_nodes += 1
        if isinstance(node, ScalarNode):
            sizes[key] = (1, len(node.value))
            distinct_chars += len(node.value)
            continue
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)
    nodes, chars = sizes[id(root)]
    return nodes, chars, distinct_nodes, distinct_chars


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


class HelmLoader(
    yaml.reader.Reader,
    yaml.scanner.Scanner,
    yaml.parser.Parser,
    _LimitedComposer,
    _HelmConstructor,
    _HelmResolver,
):
    """Safe loader reading YAML the way Helm reads a values file."""

    def __init__(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        _LimitedComposer.__init__(self)
        _HelmConstructor.__init__(self)
        _HelmResolver.__init__(self)


def load_helm(text: str) -> Any:
    """Parse one YAML document with Helm's rules. Raises YamlError with a one-line message."""
    try:
        return yaml.load(text, Loader=HelmLoader)  # noqa: S506 - HelmLoader is a safe loader
    except YamlError:
        raise
    except RecursionError:
        raise YamlError(f"nesting deeper than {MAX_DEPTH} levels") from None
    except yaml.YAMLError as exc:
        raise YamlError(_one_line(exc)) from None


try:
    from yaml._yaml import CParser
except ImportError:  # PyYAML without libyaml (the chart model's loader uses this one too)
    CParser = None


if CParser is not None:

    class _HelmFastLoader(CParser, _HelmConstructor, _HelmResolver):  # type: ignore[misc, valid-type]
        """HelmLoader's rules on libyaml's parser, without the size limits: for the data the
        tool ships (chart defaults, chart facts), never for a user's file."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            _HelmConstructor.__init__(self)
            _HelmResolver.__init__(self)


def load_shipped(text: str) -> Any:
    """Parse one YAML document of the tool's own data with Helm's rules (fast where libyaml is)."""
    if CParser is None:
        return load_helm(text)
    return yaml.load(text, Loader=_HelmFastLoader)  # noqa: S506 - a safe loader


def _one_line(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    if "could not determine a constructor" in str(exc):
        problem = "tag not allowed (only plain YAML data is accepted)"
    return where + " ".join(str(problem).split())


# --------------------------------------------------------------------------------------------
# Dumping


class HelmSafeDumper(yaml.SafeDumper):
    """Safe dumper that quotes strings looking like other types; never sorts keys. Its
    resolver knows every plain scalar that Helm, PyYAML or YAML 1.2 (kyaml) would not read
    as a string, so such strings are quoted."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


HelmSafeDumper.yaml_implicit_resolvers = {
    key: list(value) for key, value in Resolver.yaml_implicit_resolvers.items()
}
for _tag, _regexp, _first in (
    ("tag:yaml.org,2002:bool", _BOOL_RE, list("yYnNtTfFoO")),
    ("tag:yaml.org,2002:int", _INT_RE, list("-+0123456789")),
    ("tag:yaml.org,2002:float", _FLOAT_RE, list("-+0123456789.")),
    ("tag:yaml.org,2002:float", _SPECIAL_FLOAT_RE, list("-+.")),
):
    HelmSafeDumper.add_implicit_resolver(_tag, _regexp, _first)


def _represent_str(dumper: HelmSafeDumper, data: str) -> yaml.ScalarNode:
    """Multi-line strings in literal block style where YAML can hold them exactly (the
    emitter falls back to quotes when it cannot; other line breaks always get quotes)."""
    if any(ch in data for ch in "\r\x85\u2028\u2029"):
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"')
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_str(data)


HelmSafeDumper.add_representer(str, _represent_str)


if hasattr(yaml, "CSafeDumper"):

    class _HelmFastDumper(yaml.CSafeDumper):  # type: ignore[misc, valid-type]
        """HelmSafeDumper's resolvers and representers on libyaml's emitter (same text, faster)."""

        yaml_implicit_resolvers = HelmSafeDumper.yaml_implicit_resolvers
        yaml_representers = HelmSafeDumper.yaml_representers
        ignore_aliases = HelmSafeDumper.ignore_aliases

    _DUMPER: type = _HelmFastDumper
else:  # PyYAML without libyaml
    _DUMPER = HelmSafeDumper


_DUMP_OPTIONS: dict[str, Any] = {
    "Dumper": _DUMPER,
    "sort_keys": False,
    "default_flow_style": False,
    "allow_unicode": True,
    "width": 4096,
}


def dump(obj: Any) -> str:
    """Block-style YAML, keys in insertion order, ambiguous strings quoted."""
    return yaml.dump(obj, **_DUMP_OPTIONS)


def dump_all(objs: list[Any]) -> str:
    """Several documents separated by ``---``."""
    return yaml.dump_all(objs, explicit_start=True, **_DUMP_OPTIONS)


# --- plain data and rendered objects ------------------------------------------------------------
# Every YAML read of the tool goes through this module: values (load_helm), the tool's own data
# (load_shipped), plain data and renders (load_data, load_data_all), manifests with duplicate keys
# refused (load_strict_all), the chart model's documents (load_rendered) and a tool's output
# checked for shape (compose_all).

_SAFE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_data(text: str) -> Any:
    """One document of plain YAML data (a kustomization, an index, a hook's config)."""
    return yaml.load(text, Loader=_SAFE)  # noqa: S506 - a safe loader


def load_data_all(text: str) -> list[Any]:
    """Every document of a YAML stream (a Kustomize render), empty ones left out."""
    return [doc for doc in yaml.load_all(text, Loader=_SAFE) if doc is not None]  # noqa: S506


def compose_all(text: str) -> Any:
    """The node trees of a YAML stream, unconstructed (a tool's output checked for shape)."""
    return yaml.compose_all(text, Loader=_SAFE)


class StrictLoader(_SAFE):  # type: ignore[misc, valid-type]
    """A safe loader that refuses duplicate keys (YamlError) instead of keeping the last one."""


def _construct_strict_mapping(loader: StrictLoader, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in mapping:
            raise YamlError(f"duplicate key {key!r} on line {key_node.start_mark.line + 1}")
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_strict_mapping)


class _AliasCheckingLoader(StrictLoader):
    """The strict loader, refusing a document whose aliases would expand it beyond the limits
    (used only when the text has anchors at all)."""

    def construct_document(self, node: Node) -> Any:
        nodes, chars, distinct_nodes, distinct_chars = expanded_size(node)
        if nodes - distinct_nodes > MAX_NODES:
            raise YamlError(f"aliases expand to more than {MAX_NODES} nodes")
        if chars - distinct_chars > MAX_EXPANDED_CHARS:
            raise YamlError(f"aliases expand to more than {MAX_EXPANDED_CHARS >> 20} MiB of text")
        return super().construct_document(node)


def load_strict_all(text: str) -> list[Any]:
    """Every document of a manifest; a duplicate key or an alias bomb is YamlError, broken
    YAML is yaml.YAMLError."""
    loader = _AliasCheckingLoader if "&" in text and "*" in text else StrictLoader
    return [doc for doc in yaml.load_all(text, Loader=loader) if doc is not None]  # noqa: S506


class ManifestLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that the plain scalars ``=`` and ``<<`` (in a value
    position), which go-yaml writes unquoted but the safe loader cannot construct, are read
    as the strings they are."""


def _plain_text(loader: yaml.SafeLoader, node: Node) -> Any:
    return loader.construct_scalar(node)


ManifestLoader.add_constructor("tag:yaml.org,2002:value", _plain_text)
ManifestLoader.add_constructor("tag:yaml.org,2002:merge", _plain_text)


if CParser is not None:

    class _FastManifestLoader(CParser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver):  # type: ignore[misc, valid-type]
        """ManifestLoader's rules on libyaml's parser."""

        yaml_constructors = ManifestLoader.yaml_constructors

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)


def load_rendered(text: str) -> Any:
    """One document as Helm's output holds it (the chart model's rendered templates). libyaml
    parses; a document it refuses is parsed again by PyYAML's own parser, which has the last
    word and the message (yaml.YAMLError)."""
    if CParser is not None:
        try:
            return yaml.load(text, Loader=_FastManifestLoader)  # noqa: S506 - a safe loader
        except yaml.YAMLError:
            pass
    return yaml.load(text, Loader=ManifestLoader)  # noqa: S506 - a safe loader
