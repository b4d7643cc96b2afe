"""Compare the Helm side with the Kustomize side, object by object.

Objects are matched by kind and name, normalised (see :mod:`migrate.normalise`),
and diffed leaf by leaf: mappings key by key, scalars by type and value (``1``,
``1.0``, ``"1"`` and ``true`` all differ). Equivalence is exactly equality of the
normalised objects: list order matters (unless ``ordered-lists`` is off).

How a difference is *named* goes further than its position, so that one inserted item
does not read as a cascade of changes:

- items of a list of maps that all carry a distinct ``name`` (env, containers, ports,
  volumes, volumeMounts, ...; else a distinct ``mountPath``, ``containerPort`` or ``port``)
  are matched by it: ``/spec/template/spec/containers[vllm]/env[NEW_VAR]``, only in helm;
- the items of ``args`` and ``command`` are matched by flag (``args[--port]``), the
  arguments before the first flag by position;
- when the matched items are equal but stand in another order, that is one difference,
  ``reordered``, whose two sides are the item names in each order.

Every difference keeps its JSON pointer into the normalised object (``path``: the Helm
side's; the Kustomize side's for what only Kustomize has, and ``kustomize_path`` where an
item sits at another index there) beside the named path (``named``).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from migrate.manifests import ObjectKey, Objects, object_id
from migrate.normalise import RULES, check_rules, normalise


class Status(str, enum.Enum):
    EQUAL = "equal"
    DIFFERENT = "different"
    MISSING = "missing"  # rendered by Helm, missing in Kustomize
    EXTRA = "extra"  # rendered by Kustomize only

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    Status.EQUAL: "equal",
    Status.DIFFERENT: "different",
    Status.MISSING: "missing in kustomize",
    Status.EXTRA: "extra in kustomize",
}


class Change(str, enum.Enum):
    CHANGED = "changed"
    ONLY_HELM = "only-in-helm"
    ONLY_KUSTOMIZE = "only-in-kustomize"
    REORDERED = "reordered"  # the same items in another order; helm/kustomize: their names in order


@dataclass(frozen=True)
class Difference:
    """One differing leaf or subtree; ``helm``/``kustomize`` are None on the side where it is absent.

    ``path`` is a JSON pointer into the normalised Helm object (into the Kustomize object
    for ``only-in-kustomize``); ``kustomize_path`` is the Kustomize side's pointer where it
    differs (an item matched by name at another index); ``named`` names list items by
    their name or flag (empty: the same as ``path``)."""

    path: str
    change: Change
    helm: Any = None
    kustomize: Any = None
    named: str = ""
    kustomize_path: str | None = None

    @property
    def where(self) -> str:
        """The path reports show: list items by name where they have one."""
        return self.named or self.path


@dataclass(frozen=True)
class ObjectResult:
    kind: str
    name: str
    status: Status
    differences: tuple[Difference, ...] = ()

    @property
    def id(self) -> str:
        return object_id((self.kind, self.name))


@dataclass(frozen=True)
class Result:
    """The verdict of one verification; ``notes`` say where settings came from (the
    namespace read off the overlay, say), ``hints`` what a failed comparison suggests."""

    objects: tuple[ObjectResult, ...]
    namespace: str | None = None
    rules: tuple[str, ...] = field(default_factory=lambda: tuple(RULES))
    notes: tuple[str, ...] = ()
    hints: tuple[str, ...] = ()

    @property
    def equivalent(self) -> bool:
        return all(obj.status is Status.EQUAL for obj in self.objects)

    def count(self, status: Status) -> int:
        return sum(1 for obj in self.objects if obj.status is status)

    def counts(self) -> dict[str, int]:
        return {status.value: self.count(status) for status in Status}

    def not_equal(self) -> list[ObjectResult]:
        return [obj for obj in self.objects if obj.status is not Status.EQUAL]


def compare(
    helm: Objects, kustomize: Objects, namespace: str | None = None, rules: Iterable[str] | None = None
) -> Result:
    """Compare two sets of objects under the enabled normalisation ``rules`` (default: all)."""
    enabled = check_rules(RULES if rules is None else rules)
    results = [
        _compare_one(key, helm.get(key), kustomize.get(key), namespace, enabled)
        for key in _ordered_keys(helm, kustomize)
    ]
    return Result(tuple(results), namespace, tuple(r for r in RULES if r in enabled))


def _ordered_keys(helm: Objects, kustomize: Objects) -> list[ObjectKey]:
    """Helm's order first, then objects only Kustomize renders, in its order."""
    return list(helm) + [key for key in kustomize if key not in helm]


def _compare_one(
    key: ObjectKey, helm: dict | None, kustomize: dict | None, namespace: str | None, rules: frozenset[str]
) -> ObjectResult:
    kind, name = key
    if kustomize is None:
        return ObjectResult(kind, name, Status.MISSING)
    if helm is None:
        return ObjectResult(kind, name, Status.EXTRA)
    differences = diff_objects(normalise(helm, rules, namespace), normalise(kustomize, rules, namespace),
                               ordered="ordered-lists" in rules)
    return ObjectResult(kind, name, Status.DIFFERENT if differences else Status.EQUAL, differences)


def diff_objects(helm: Any, kustomize: Any, *, ordered: bool = True) -> tuple[Difference, ...]:
    """Every difference between two normalised objects, sorted by path. Empty exactly when
    the two are equal (by type and value); ``ordered=False`` leaves out ``reordered`` lines
    (lists that are compared sorted)."""
    found: list[Difference] = []
    _walk(helm, kustomize, _Path(), found, ordered)
    return tuple(sorted(found, key=lambda d: _pointer_sort_key(d.path)))


@dataclass(frozen=True)
class _Path:
    """Where the walk is: the Helm side's pointer parts, the Kustomize side's, the named path."""

    helm: tuple[Any, ...] = ()
    kustomize: tuple[Any, ...] = ()
    named: str = ""

    def key(self, key: Any) -> _Path:
        return _Path((*self.helm, key), (*self.kustomize, key), f"{self.named}/{_escape(key)}")

    def item(self, helm_index: int | None, kustomize_index: int | None, label: str | None = None) -> _Path:
        """A list item: at ``helm_index`` / ``kustomize_index`` (None: absent on that side)."""
        index = helm_index if helm_index is not None else kustomize_index
        named = f"{self.named}[{label}]" if label is not None else f"{self.named}/{index}"
        return _Path((*self.helm, helm_index if helm_index is not None else kustomize_index),
                     (*self.kustomize, kustomize_index if kustomize_index is not None else helm_index), named)

    def difference(self, change: Change, helm: Any = None, kustomize: Any = None) -> Difference:
        helm_pointer, kustomize_pointer = json_pointer(self.helm), json_pointer(self.kustomize)
        path = kustomize_pointer if change is Change.ONLY_KUSTOMIZE else helm_pointer
        other = kustomize_pointer if change is not Change.ONLY_KUSTOMIZE and kustomize_pointer != helm_pointer else None
        named = self.named if self.named != path else ""
        return Difference(path, change, helm=helm, kustomize=kustomize, named=named or "", kustomize_path=other)


def _walk(helm: Any, kustomize: Any, at: _Path, found: list[Difference], ordered: bool) -> None:
    if isinstance(helm, dict) and isinstance(kustomize, dict):
        for key, value in helm.items():
            if key in kustomize:
                _walk(value, kustomize[key], at.key(key), found, ordered)
            else:
                found.append(at.key(key).difference(Change.ONLY_HELM, helm=value))
        for key, value in kustomize.items():
            if key not in helm:
                found.append(at.key(key).difference(Change.ONLY_KUSTOMIZE, kustomize=value))
    elif isinstance(helm, list) and isinstance(kustomize, list):
        _walk_list(helm, kustomize, at, found, ordered)
    elif not same(helm, kustomize):
        found.append(at.difference(Change.CHANGED, helm=helm, kustomize=kustomize))


def _walk_list(helm: list, kustomize: list, at: _Path, found: list[Difference], ordered: bool) -> None:
    """Items by name (or flag) where both sides allow it, else by position. Whatever the
    matching, an unequal pair of lists yields at least one difference."""
    before = len(found)
    parent = at.helm[-1] if at.helm else None
    if not same(helm, kustomize):
        matched = (_walk_arguments(helm, kustomize, at, found, ordered) if parent in ("args", "command")
                   else _walk_named(helm, kustomize, at, found, ordered))
        if matched and len(found) > before:
            return
        del found[before:]
    for index, (a, b) in enumerate(zip(helm, kustomize)):
        _walk(a, b, at.item(index, index), found, ordered)
    for index in range(len(kustomize), len(helm)):
        found.append(at.item(index, None).difference(Change.ONLY_HELM, helm=helm[index]))
    for index in range(len(helm), len(kustomize)):
        found.append(at.item(None, index).difference(Change.ONLY_KUSTOMIZE, kustomize=kustomize[index]))


# Keys that identify the items of a list of maps, in order of preference.
ITEM_KEYS = ("name", "mountPath", "containerPort", "port")


def _item_key(helm: list, kustomize: list) -> str | None:
    """The first of ``ITEM_KEYS`` that every item of both lists has, distinct within each list."""
    items = [*helm, *kustomize]
    if not items or not all(isinstance(item, dict) for item in items):
        return None
    for key in ITEM_KEYS:
        if all(isinstance(item.get(key), (str, int)) and not isinstance(item.get(key), bool) for item in items) and \
                all(len({item[key] for item in side}) == len(side) for side in (helm, kustomize)):
            return key
    return None


def _walk_named(helm: list, kustomize: list, at: _Path, found: list[Difference], ordered: bool) -> bool:
    key = _item_key(helm, kustomize)
    if key is None:
        return False
    label = (lambda value: str(value)) if key == "name" else (lambda value: f"{key}={value}")
    k_index = {item[key]: index for index, item in enumerate(kustomize)}
    h_index = {item[key]: index for index, item in enumerate(helm)}
    for index, item in enumerate(helm):
        other = k_index.get(item[key])
        if other is None:
            found.append(at.item(index, None, label(item[key])).difference(Change.ONLY_HELM, helm=item))
        else:
            _walk(item, kustomize[other], at.item(index, other, label(item[key])), found, ordered)
    for index, item in enumerate(kustomize):
        if item[key] not in h_index:
            found.append(at.item(None, index, label(item[key])).difference(Change.ONLY_KUSTOMIZE, kustomize=item))
    if ordered:
        _order(at, [item[key] for item in helm], [item[key] for item in kustomize], found)
    return True


def _order(at: _Path, helm: list, kustomize: list, found: list[Difference]) -> None:
    """One ``reordered`` difference when the items both sides have stand in another order."""
    common = set(helm) & set(kustomize)
    if [k for k in helm if k in common] != [k for k in kustomize if k in common]:
        found.append(at.difference(Change.REORDERED, helm=list(helm), kustomize=list(kustomize)))


_NUMBER = re.compile(r"^-\.?\d")


def _is_flag(token: str) -> bool:
    return token.startswith("-") and len(token) > 1 and not _NUMBER.match(token)


def _groups(tokens: list) -> list[tuple[str, int, list[str]]] | None:
    """``args`` as (key, first index, tokens): the arguments before the first flag one by one
    (keyed by position), then each flag with the values that follow it (``--port 8000``,
    ``--port=8000``), keyed by flag; a flag given twice is keyed ``--flag#2``. None when
    the list is not one of strings."""
    if not all(isinstance(t, str) for t in tokens):
        return None
    groups: list[tuple[str, int, list[str]]] = []
    seen: dict[str, int] = {}
    flags = False
    for index, token in enumerate(tokens):
        if _is_flag(token):
            flags = True
            flag = token.split("=", 1)[0]
            seen[flag] = seen.get(flag, 0) + 1
            groups.append((flag if seen[flag] == 1 else f"{flag}#{seen[flag]}", index, [token]))
        elif flags:
            groups[-1][2].append(token)
        else:
            groups.append((str(index), index, [token]))
    return groups


def _walk_arguments(helm: list, kustomize: list, at: _Path, found: list[Difference], ordered: bool) -> bool:
    h_groups, k_groups = _groups(helm), _groups(kustomize)
    if h_groups is None or k_groups is None or not any(_is_flag(t) for t in [*helm, *kustomize]):
        return False
    k_by = {key: (index, tokens) for key, index, tokens in k_groups}
    h_keys = {key for key, _, _ in h_groups}
    for key, index, tokens in h_groups:
        positional = key.isdigit()
        label = None if positional else key
        if key not in k_by:
            value = tokens[0] if len(tokens) == 1 else tokens
            found.append(at.item(index, None, label).difference(Change.ONLY_HELM, helm=value))
            continue
        other, theirs = k_by[key]
        if tokens == theirs:
            continue
        if positional:
            found.append(at.item(index, other).difference(Change.CHANGED, helm=tokens[0], kustomize=theirs[0]))
        elif len(tokens) == len(theirs) == 1:  # --flag=VALUE
            found.append(at.item(index, other, label).difference(Change.CHANGED, helm=tokens[0],
                                                                 kustomize=theirs[0]))
        elif len(tokens) == len(theirs) == 2 and tokens[0] == theirs[0]:  # --flag VALUE: the value changed
            found.append(at.item(index + 1, other + 1, label).difference(Change.CHANGED, helm=tokens[1],
                                                                         kustomize=theirs[1]))
        else:
            found.append(at.item(index, other, label).difference(Change.CHANGED, helm=tokens, kustomize=theirs))
    for key, index, tokens in k_groups:
        if key not in h_keys:
            value = tokens[0] if len(tokens) == 1 else tokens
            found.append(at.item(None, index, None if key.isdigit() else key).difference(
                Change.ONLY_KUSTOMIZE, kustomize=value))
    if ordered:
        flags = lambda groups: [key for key, _, _ in groups if not key.isdigit()]  # noqa: E731
        _order(at, flags(h_groups), flags(k_groups), found)
    return True


def same(a: Any, b: Any) -> bool:
    """Equal by type and value, all the way down (``1``, ``1.0`` and ``True`` differ)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(value, b[key]) for key, value in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def json_pointer(parts: Iterable[Any]) -> str:
    """RFC 6901 pointer: ``['metadata', 'labels', 'a/b']`` -> ``/metadata/labels/a~1b``."""
    return "".join("/" + _escape(part) for part in parts)


def _escape(part: Any) -> str:
    return str(part).replace("~", "~0").replace("/", "~1")


def _pointer_sort_key(path: str) -> list[tuple[int, int, str]]:
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in path.split("/")]
