"""The declarative mapping table: values paths -> accelerator, components, literals, patches.

The table is data (``mappings/<chart>/<version>/mapping.yaml``, validated by
``schemas/mapping.schema.json``); this module only reads and evaluates it.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import yaml

from migrate import yamlio
from migrate.errors import InputError
from migrate.resources import CHART, data_dir

ROLES = ("decode", "prefill")
_MISSING = object()


@dataclass(frozen=True)
class Entry:
    id: str
    paths: tuple[str, ...]
    to: str
    component: str | None = None
    literal: str | None = None
    groups: tuple[str, ...] = ()
    why: str | None = None
    source: tuple[str, ...] = ()  # the keys of a literal's value, when a key holds a dot
    when: dict | None = None  # a literal is set only when this holds
    reads: tuple[tuple[str, tuple[str, ...]], ...] = ()  # under a path, the keys the chart reads there
    unused_why: str | None = None  # why a value of this entry can have no effect (reports say so)

    def value(self, values: dict) -> Any:
        """The value this entry reads (literal entries)."""
        node: Any = values
        for key in self.source or tuple(self.paths[0].split(".")):
            if not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
        return node

    @cached_property
    def patterns(self) -> tuple[PathPattern, ...]:
        return tuple(PathPattern(p) for p in _expand_roles(self.paths))

    @cached_property
    def _read_patterns(self) -> tuple[tuple[PathPattern, tuple[PathPattern, ...], tuple[str, ...]], ...]:
        out = []
        for parent, keys in self.reads:
            for expanded in _expand_roles((parent,)):
                out.append((PathPattern(expanded), tuple(PathPattern(k) for k in keys), keys))
        return tuple(out)

    def unread(self, generic: str) -> tuple[str, str | None] | None:
        """For a leaf this entry covers (list indices as ``[*]``): None when the chart reads it;
        else the key the chart does not read there, and the nearest key it does read."""
        for parent, keys, names in self._read_patterns:
            rest = parent.rest(generic)
            if rest is None or not rest:
                continue
            if any(k.match(rest) for k in keys) or any(n.startswith(rest + ".") for n in names):
                return None
            first = re.split(r"[.\[]", rest, maxsplit=1)[0]
            near = difflib.get_close_matches(first, sorted({n.split(".")[0] for n in names}), n=1, cutoff=0.6)
            return first, near[0] if near else None
        return None


@dataclass(frozen=True)
class PatchGroup:
    name: str
    at: tuple[str, ...]

    def claims(self, pointer: str) -> bool:
        parts = pointer.split("/")
        for prefix in self.at:
            want = prefix.split("/")
            if len(parts) >= len(want) and all(w in ("*", p) for w, p in zip(want, parts)):
                return True
        return False


@dataclass
class Table:
    chart: str
    version: str
    accelerator_default: str
    accelerator_dirs: dict[str, str]
    components: list[tuple[str, dict, dict[str, str | None]]]
    patch_groups: list[PatchGroup]
    entries: list[Entry]
    source: Path = field(default_factory=Path)

    def accelerator_dir(self, values: dict) -> str:
        """The library accelerator for the global ``accelerator.type``."""
        kind = lookup(values, "accelerator.type")
        if not kind or not isinstance(kind, str):
            kind = "nvidia"
        return self.accelerator_dirs.get(kind, self.accelerator_default)

    def chosen_components(self, values: dict, defaults: dict | None = None) -> list[str]:
        """Components whose condition holds, in table order, in the accelerator's variant
        (``defaults``, the chart's, for ``unchanged`` conditions)."""
        accelerator = self.accelerator_dir(values)
        chosen = [variants.get(accelerator, name) for name, when, variants in self.components
                  if holds(when, values, defaults)]
        return [name for name in chosen if name]

    def group_for(self, pointer: str) -> str:
        for group in self.patch_groups:
            if group.claims(pointer):
                return group.name
        return "other"

    def entry_for(self, leaf: str) -> Entry | None:
        """The first entry that covers the leaf path (list indices written ``[N]``)."""
        generic = re.sub(r"\[\d+\]", "[*]", leaf)
        for entry in self.entries:
            if any(p.match(generic) for p in entry.patterns):
                return entry
        return None

    def literal_entries(self) -> list[Entry]:
        return [e for e in self.entries if e.to == "literal"]


@lru_cache(maxsize=None)
def load_table(version: str) -> Table:
    """Load and validate the mapping table of a chart version (once per process), with the
    tables it extends resolved."""
    path = data_dir("mappings") / CHART / version / "mapping.yaml"
    raw = _remembered(version)
    table = Table(
        chart=raw["chart"],
        version=raw["version"],
        accelerator_default=raw["accelerators"]["default"],
        accelerator_dirs=dict(raw["accelerators"]["dirs"]),
        components=[(c["name"], c["when"], dict(c.get("variants", {}))) for c in raw["components"]],
        patch_groups=[PatchGroup(g["name"], tuple(g["at"])) for g in raw["patch_groups"]],
        entries=[_entry(e) for e in raw["entries"]],
        source=path,
    )
    _check_references(table)
    return table


def _remembered(version: str) -> dict:
    """:func:`resolved`, kept in the on-disk cache under the digests of the shipped tables and
    schemas (:func:`migrate.cache.tree_digest`) and this program's version: a new process reads one
    JSON entry instead of parsing and validating the 48 files of a chain (about 40 ms)."""
    from migrate import __version__, cache

    key = cache.digest("table", __version__, version, cache.tree_digest(data_dir("mappings")),
                       cache.tree_digest(data_dir("schemas")))
    text = cache.read("tables", key)
    if text is not None:
        with contextlib.suppress(ValueError):
            table = json.loads(text)
            if isinstance(table, dict) and table.get("version") == version:
                return table
    table = resolved(version)
    cache.write("tables", key, json.dumps(table, separators=(",", ":")))
    return table


@lru_cache(maxsize=None)
def resolved(version: str) -> dict:
    """The table of ``version`` as one document: its own file applied to the table it extends.

    The result shares its unchanged parts with the tables it extends: treat it as read-only."""
    path = data_dir("mappings") / CHART / version / "mapping.yaml"
    try:
        raw = yamlio.load_data(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read mapping table: {exc}", file=str(path)) from None
    _check_schema(raw, path)
    if raw["version"] != version:
        raise InputError(f"the table says version {raw['version']}, its folder {version}", file=str(path),
                         key="version")
    base = raw.get("extends")
    if base is None:
        return raw
    if _version_key(base) >= _version_key(version):
        raise InputError(f"a table extends an older version's table, not {base}", file=str(path), key="extends")
    return _extended(resolved(base), raw, path)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.lstrip("v").split(".") if part.isdigit())


_LAST = "model-config"


def _extended(base: dict, delta: dict, path: Path) -> dict:
    """``base`` with ``delta``'s differences applied (see schemas/mapping.schema.json, extends)."""
    out = {**base, "version": delta["version"]}
    accelerators = delta.get("accelerators") or {}
    dirs = {**base["accelerators"]["dirs"], **accelerators.get("dirs", {})}
    out["accelerators"] = {"default": accelerators.get("default", base["accelerators"]["default"]),
                           "dirs": {k: v for k, v in dirs.items() if v is not None}}
    out["components"] = _merged(base["components"], delta.get("components", []), delta.get("remove_components", []),
                                "name", path, "components", default_before=_LAST)
    out["patch_groups"] = _merged(base["patch_groups"], delta.get("patch_groups", []),
                                  delta.get("remove_patch_groups", []), "name", path, "patch_groups",
                                  default_before="other")
    out["entries"] = _merged(base["entries"], delta.get("entries", []), delta.get("remove_entries", []), "id",
                             path, "entries")
    return out


def _merged(items: list[dict], changes: list[dict], removed: list[str], key: str, path: Path, where: str,
            default_before: str | None = None) -> list[dict]:
    """Items by ``key``: a change replaces the item of its name in place, or is inserted before
    its ``before`` (else ``default_before``, else at the end); ``removed`` names go."""
    out = list(items)
    for name in removed:
        if name not in [item[key] for item in out]:
            raise InputError(f"removes {name!r}, which the extended table does not have", file=str(path),
                             key=f"remove_{where}")
        out = [item for item in out if item[key] != name]
    for index, change in enumerate(changes):
        change = dict(change)
        before = change.pop("before", None)
        names = [item[key] for item in out]
        if change[key] in names:
            out[names.index(change[key])] = change
            continue
        if before is not None and before not in names:
            raise InputError(f"{change[key]!r} goes before {before!r}, which is not in the table",
                             file=str(path), key=f"{where}.{index}.before")
        anchor = before or default_before
        out.insert(names.index(anchor) if anchor in names else len(out), change)
    return out


def _entry(raw: dict) -> Entry:
    return Entry(
        id=raw["id"],
        paths=tuple(raw["paths"]),
        to=raw["to"],
        component=raw.get("component"),
        literal=raw.get("literal"),
        groups=tuple(raw.get("groups", ())),
        why=raw.get("why"),
        source=tuple(raw.get("from", ())),
        when=raw.get("when"),
        reads=tuple((parent, tuple(keys)) for parent, keys in (raw.get("reads") or {}).items()),
        unused_why=raw.get("unused_why"),
    )


def _check_references(table: Table) -> None:
    groups = {g.name for g in table.patch_groups}
    components = {name for name, _, _ in table.components}
    for index, entry in enumerate(table.entries):
        for group in entry.groups:
            if group not in groups:
                raise InputError(f"entry {entry.id!r} names unknown patch group {group!r}",
                                 file=str(table.source), key=f"entries.{index}.groups")
        if entry.component and entry.component not in components:
            raise InputError(f"entry {entry.id!r} names unknown component {entry.component!r}",
                             file=str(table.source), key=f"entries.{index}.component")


# --- values paths --------------------------------------------------------------------------


def lookup(values: Any, path: str, default: Any = None) -> Any:
    """The value at a dotted path, or ``default`` when any step is missing. A key that holds
    dots is written in brackets: ``modelArtifacts.labels[llm-d.ai/model]``."""
    node = values
    for part in _path_keys(path):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def _path_keys(path: str) -> list[str]:
    if "[" not in path:
        return path.split(".")
    return [bracketed or plain for bracketed, plain in re.findall(r"\[([^\]]+)\]|([^.\[]+)", path)]


def leaves(values: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Every leaf of a values tree as (path, value); empty maps and lists are leaves too."""
    if isinstance(values, dict) and values:
        out: list[tuple[str, Any]] = []
        for key, value in values.items():
            out.extend(leaves(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(values, list) and values:
        out = []
        for index, value in enumerate(values):
            out.extend(leaves(value, f"{prefix}[{index}]"))
        return out
    return [(prefix, values)]


def lookup_leaf(values: Any, leaf: str) -> Any:
    """The value at a leaf path as produced by :func:`leaves`, or a sentinel when absent."""
    node = values
    for token in re.findall(r"[^.\[\]]+|\[\d+\]", leaf):
        if token.startswith("["):
            index = int(token[1:-1])
            if not isinstance(node, list) or index >= len(node):
                return _MISSING
            node = node[index]
        else:
            if not isinstance(node, dict) or token not in node:
                return _MISSING
            node = node[token]
    return node


def is_missing(value: Any) -> bool:
    return value is _MISSING


def _expand_roles(paths: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for path in paths:
        out.extend(path.replace("<role>", role) for role in ROLES) if "<role>" in path else out.append(path)
    return out


class PathPattern:
    """A table path (``decode.containers[*].env``, ``*`` for one key) matching a leaf path and
    everything below it. Most paths have no ``*``: they match as plain text, without a regex
    (compiling one per path costs more than the rest of a plan)."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._regex = _compile(pattern) if "*" in pattern.replace("[*]", "") else None

    def match(self, path: str) -> bool:
        return self.rest(path) is not None

    def rest(self, path: str) -> str | None:
        """What follows the matched part of ``path`` (no leading dot), or None: no match."""
        if self._regex is not None:
            found = self._regex.match(path)
            if found is None:
                return None
            end = found.end()
        else:
            end = len(self.pattern)
            if not (path.startswith(self.pattern) and (len(path) == end or path[end] in ".[")):
                return None
        return path[end:].removeprefix(".")


def _compile(pattern: str) -> re.Pattern[str]:
    parts = []
    for token in re.findall(r"\[\*\]|\*|[^*\[]+|\[", pattern):
        if token == "[*]":
            parts.append(r"\[\*\]")
        elif token == "*":
            parts.append(r"[^.\[]+")
        else:
            parts.append(re.escape(token))
    return re.compile("^" + "".join(parts) + r"(?=$|[.\[])")


# --- conditions ----------------------------------------------------------------------------


def truthy(value: Any) -> bool:
    """Go template truthiness: false, 0, "", null, empty list and map are false."""
    return bool(value) if not isinstance(value, str) else value != ""


def holds(condition: dict, values: dict, defaults: dict | None = None) -> bool:
    """Evaluate a table condition (see schemas/mapping.schema.json) on effective values;
    ``unchanged`` compares with the chart's ``defaults`` (False without them)."""
    (kind, arg), = condition.items()
    if kind == "always":
        return True
    if kind == "unchanged":
        from migrate.patchgen import same

        return defaults is not None and same(lookup(values, arg, _MISSING), lookup(defaults, arg, _MISSING))
    if kind == "truthy":
        return truthy(lookup(values, arg))
    if kind == "falsy":
        return not truthy(lookup(values, arg))
    if kind in ("equals", "not_equals"):
        path, expected = arg
        actual = lookup(values, path, _MISSING)
        equal = actual is not _MISSING and type(actual) is type(expected) and actual == expected
        return equal if kind == "equals" else not equal
    if kind == "matches":
        path, pattern = arg
        actual = lookup(values, path)
        return isinstance(actual, str) and re.search(pattern, actual) is not None
    if kind == "all":
        return all(holds(c, values, defaults) for c in arg)
    if kind == "any":
        return any(holds(c, values, defaults) for c in arg)
    raise InputError(f"unknown condition {kind!r} in the mapping table")


def _check_schema(raw: Any, path: Path) -> None:
    """Validate one table file against schemas/mapping.schema.json (``jsonschema``, imported here)."""
    import jsonschema

    error = jsonschema.exceptions.best_match(_table_validator().iter_errors(raw))
    if error is not None:
        key = ".".join(str(p) for p in error.absolute_path) or "(top)"
        raise InputError(f"invalid mapping table: {error.message}", file=str(path), key=key)


@lru_cache(maxsize=1)
def _table_validator() -> Any:
    import jsonschema

    schema = json.loads((data_dir("schemas") / "mapping.schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


