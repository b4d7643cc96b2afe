"""Normalisation before comparison: exactly the rules of DESIGN.md "Equivalence", and only these.

Each rule has an id, a one-line summary, and can be switched off
(``verify --no-<id>``). Normalising never changes the input objects.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

PROVENANCE_LABELS = ("helm.sh/chart", "app.kubernetes.io/managed-by", "app.kubernetes.io/version")


@dataclass(frozen=True)
class Context:
    """What rules may know beyond the object itself."""

    namespace: str | None = None


Transform = Callable[[Any, Context], Any]


@dataclass(frozen=True)
class Rule:
    """A normalisation rule. ``when_on`` runs while the rule is enabled, ``when_off`` while disabled."""

    id: str
    summary: str
    when_on: Transform | None = None
    when_off: Transform | None = None


def _drop_provenance_labels(obj: Any, ctx: Context) -> Any:
    """Remove Helm provenance labels from every ``metadata.labels`` (object and pod templates)."""
    if isinstance(obj, list):
        return [_drop_provenance_labels(item, ctx) for item in obj]
    if not isinstance(obj, dict):
        return obj
    out = {key: _drop_provenance_labels(value, ctx) for key, value in obj.items()}
    metadata = out.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("labels"), dict):
        labels = {k: v for k, v in metadata["labels"].items() if k not in PROVENANCE_LABELS}
        out["metadata"] = {k: v for k, v in metadata.items() if k != "labels"}
        if labels or len(labels) == len(metadata["labels"]):
            out["metadata"]["labels"] = labels
    return out


def _fill_release_namespace(obj: Any, ctx: Context) -> Any:
    """An object without ``metadata.namespace`` is in the release namespace."""
    if ctx.namespace is None or not isinstance(obj.get("metadata"), dict):
        return obj
    if obj["metadata"].get("namespace"):
        return obj
    return {**obj, "metadata": {**obj["metadata"], "namespace": ctx.namespace}}


def _is_empty(value: Any) -> bool:
    return value is None or value == {} or value == []


def _drop_empty_values(obj: Any, ctx: Context) -> Any:
    """Drop mapping keys whose value is null, {} or [] (after their own children are normalised)."""
    if isinstance(obj, list):
        return [_drop_empty_values(item, ctx) for item in obj]
    if not isinstance(obj, dict):
        return obj
    out = {}
    for key, value in obj.items():
        value = _drop_empty_values(value, ctx)
        if not _is_empty(value):
            out[key] = value
    return out


_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$")
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
            "k": Decimal("1e3"), "M": Decimal("1e6"), "G": Decimal("1e9"), "T": Decimal("1e12"),
            "P": Decimal("1e15"), "E": Decimal("1e18")}


def parse_quantity(value: Any) -> Decimal | None:
    """The value of a Kubernetes quantity (``"1"``, ``1``, ``1000m``, ``1Gi``, ``1e3``), or None."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    match = _QUANTITY.match(str(value).strip())
    if match is None:
        return None
    number, suffix = Decimal(match[1]), match[2] or ""
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix in _DECIMAL:
        return number * _DECIMAL[suffix]
    try:
        return number * Decimal(10) ** int(suffix[1:])
    except (InvalidOperation, ValueError):
        return None


def canonical_quantity(value: Decimal) -> str:
    """One spelling per value: ``1Gi`` for 1073741824, ``500m`` for 0.5, ``16`` for 16."""
    if value == value.to_integral_value():
        whole = int(value)
        for suffix, size in reversed(_BINARY.items()):
            if whole and whole % size == 0:
                return f"{whole // size}{suffix}"
        return str(whole)
    for suffix in ("m", "u", "n"):
        scaled = value / _DECIMAL[suffix]
        if scaled == scaled.to_integral_value():
            return f"{int(scaled)}{suffix}"
    return format(value.normalize(), "f")


def _canonical_quantities(obj: Any, ctx: Context, inside: bool = False) -> Any:
    """Resource quantities compare by value, only within a ``resources`` mapping (not its lists)."""
    if isinstance(obj, list):
        return [_canonical_quantities(item, ctx) for item in obj]
    if isinstance(obj, dict):
        return {k: _canonical_quantities(v, ctx, inside or k == "resources") for k, v in obj.items()}
    if inside:
        value = parse_quantity(obj)
        return obj if value is None else canonical_quantity(value)
    return obj


def _sort_lists(obj: Any, ctx: Context) -> Any:
    """With list order switched off, every list is compared as a sorted list."""
    if isinstance(obj, list):
        items = [_sort_lists(item, ctx) for item in obj]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True, default=str))
    if isinstance(obj, dict):
        return {key: _sort_lists(value, ctx) for key, value in obj.items()}
    return obj


RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        Rule("provenance-labels", "ignore Helm provenance labels (" + ", ".join(PROVENANCE_LABELS) + ")",
             when_on=_drop_provenance_labels),
        Rule("release-namespace", "a missing metadata.namespace equals the release namespace (--namespace)",
             when_on=_fill_release_namespace),
        Rule("empty-values", "null, {} and [] equal an absent key", when_on=_drop_empty_values),
        Rule("quantities", 'resource quantities compare by value inside resources ("1" == 1 == 1000m, 1Gi == 1024Mi)',
             when_on=_canonical_quantities),
        Rule("ordered-lists", "list order matters (off: lists compare as unordered)", when_off=_sort_lists),
    )
}


def check_rules(enabled: Iterable[str]) -> frozenset[str]:
    """Validate rule ids; unknown ones are a programming or usage error."""
    enabled = frozenset(enabled)
    unknown = sorted(enabled - RULES.keys())
    if unknown:
        raise ValueError(f"unknown normalisation rule(s): {', '.join(unknown)}; known: {', '.join(RULES)}")
    return enabled


def normalise(obj: dict[str, Any], enabled: Iterable[str] | None = None, namespace: str | None = None) -> dict[str, Any]:
    """Return a normalised copy of ``obj``; ``enabled`` defaults to every rule."""
    active = check_rules(RULES if enabled is None else enabled)
    ctx = Context(namespace=namespace)
    out: Any = copy.deepcopy(obj)
    for rule in RULES.values():
        transform = rule.when_on if rule.id in active else rule.when_off
        if transform is not None:
            out = transform(out, ctx)
    return out
