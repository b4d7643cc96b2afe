"""Compare the Helm side with the Kustomize side, object by object.

Objects are matched by kind and name, normalised (see :mod:`migrate.normalise`),
and diffed leaf by leaf: mappings key by key, lists index by index, scalars by
type and value (``1``, ``1.0``, ``"1"`` and ``true`` all differ). Paths are JSON
pointers into the normalised object.
"""

from __future__ import annotations

import enum
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


@dataclass(frozen=True)
class Difference:
    """One differing leaf or subtree; ``helm``/``kustomize`` are None on the side where it is absent."""

    path: str
    change: Change
    helm: Any = None
    kustomize: Any = None


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
    """The verdict of one verification."""

    objects: tuple[ObjectResult, ...]
    namespace: str | None = None
    rules: tuple[str, ...] = field(default_factory=lambda: tuple(RULES))

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
    differences = diff_objects(normalise(helm, rules, namespace), normalise(kustomize, rules, namespace))
    return ObjectResult(kind, name, Status.DIFFERENT if differences else Status.EQUAL, differences)


def diff_objects(helm: Any, kustomize: Any) -> tuple[Difference, ...]:
    """Every difference between two normalised objects, sorted by path."""
    found: list[Difference] = []
    _walk(helm, kustomize, [], found)
    return tuple(sorted(found, key=lambda d: _pointer_sort_key(d.path)))


def _walk(helm: Any, kustomize: Any, path: list[Any], found: list[Difference]) -> None:
    if isinstance(helm, dict) and isinstance(kustomize, dict):
        for key, value in helm.items():
            if key in kustomize:
                _walk(value, kustomize[key], [*path, key], found)
            else:
                found.append(Difference(json_pointer([*path, key]), Change.ONLY_HELM, helm=value))
        for key, value in kustomize.items():
            if key not in helm:
                found.append(Difference(json_pointer([*path, key]), Change.ONLY_KUSTOMIZE, kustomize=value))
    elif isinstance(helm, list) and isinstance(kustomize, list):
        for index, (a, b) in enumerate(zip(helm, kustomize)):
            _walk(a, b, [*path, index], found)
        for index in range(len(kustomize), len(helm)):
            found.append(Difference(json_pointer([*path, index]), Change.ONLY_HELM, helm=helm[index]))
        for index in range(len(helm), len(kustomize)):
            found.append(Difference(json_pointer([*path, index]), Change.ONLY_KUSTOMIZE, kustomize=kustomize[index]))
    elif type(helm) is not type(kustomize) or helm != kustomize:
        found.append(Difference(json_pointer(path), Change.CHANGED, helm=helm, kustomize=kustomize))


def json_pointer(parts: Iterable[Any]) -> str:
    """RFC 6901 pointer: ``['metadata', 'labels', 'a/b']`` -> ``/metadata/labels/a~1b``."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def _pointer_sort_key(path: str) -> list[tuple[int, int, str]]:
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in path.split("/")]
