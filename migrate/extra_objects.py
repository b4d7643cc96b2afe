"""Check the ``extraObjects`` items of the values before the overlay is built.

Helm renders each item as it is; Kustomize then refuses an object without a
kind or a name, or two objects with one id, with a message about files in a
staging directory. These are mistakes in the values, so they are refused here,
early, naming the item (``extraObjects[N]``) and what is wrong with it (exit 2):

* an item without ``kind``, or without ``metadata`` or ``metadata.name``;
* two items that are one object (same group, kind, name and namespace);
* an item that is an object the chart itself renders (same id).

An item's namespace is its own ``metadata.namespace``, else the release namespace.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from migrate.errors import ChartRefusal, InputError

# (API group, kind, name, namespace)
ObjectId = tuple[str, str, str, str]


def check(effective: dict[str, Any], targets: list[dict[str, Any]], release: str, namespace: str) -> None:
    """Refuse broken ``extraObjects`` items (InputError naming ``extraObjects[N]``, no file).

    ``effective`` are the effective values, ``targets`` every object of the release's render
    (the chart's objects and the items), ``namespace`` the release namespace.
    """
    from migrate.chart.context import Release, render_value, root_context
    from migrate.chart.extra import extra_object_items
    from migrate.chart.render import _parse, split_documents

    extra = effective.get("extraObjects") if isinstance(effective, dict) else None
    try:
        items = extra_object_items(extra)
    except ChartRefusal:  # not a list: the chart model says so where it renders them
        return
    if not items:
        return
    context = root_context(effective, Release(release, namespace))
    first_of: dict[ObjectId, str] = {}
    for key, item in items:
        try:
            objects = [_parse(doc, "extra-objects.yaml") for doc in split_documents(render_value(item, context, key))]
        except InputError:  # beyond the chart model: the real render (--verify-against, --chart) has the word
            continue
        for obj in objects:
            if obj is None:
                continue
            problem = _problem(obj)
            if problem:
                raise InputError(f"{problem}; every object needs apiVersion, kind and metadata.name", key=key)
            ident = object_id(obj, namespace)
            if ident in first_of:
                raise InputError(f"is {_shown(ident)} again, as {first_of[ident]} is; remove one of them",
                                 key=key)
            first_of[ident] = key
    # what the chart renders besides the items (a real render holds the items too)
    chart_ids = Counter(object_id(t, namespace) for t in targets if isinstance(t, dict)) - Counter(first_of.keys())
    for ident, key in first_of.items():
        if chart_ids[ident]:
            raise InputError(f"is {_shown(ident)}, which the chart itself renders; Kubernetes and Kustomize "
                             "hold one object per id: give the item another name, or change the chart's "
                             "object through its values", key=key)


def _problem(obj: Any) -> str | None:
    if not isinstance(obj, dict):
        return f"is a {type(obj).__name__}, not an object"
    kind = obj.get("kind")
    if kind is None or kind == "":
        return "has no kind"
    if not isinstance(kind, str):
        return f"kind {kind!r} is not a string"
    metadata = obj.get("metadata")
    if metadata is None:
        return f"the {kind} has no metadata"
    if not isinstance(metadata, dict):
        return f"the {kind}'s metadata is not a map"
    name = metadata.get("name")
    if name is None or name == "":
        return f"the {kind} has no metadata.name"
    if not isinstance(name, str):
        return f"the {kind}'s metadata.name {name!r} is not a string (quote it)"
    return None


def object_id(obj: dict[str, Any], namespace: str) -> ObjectId:
    """An object's id as Kustomize and Kubernetes tell objects apart."""
    api_version = obj.get("apiVersion")
    group = api_version.rpartition("/")[0] if isinstance(api_version, str) else ""
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    own = metadata.get("namespace")
    return (group, str(obj.get("kind")), str(metadata.get("name")), own if isinstance(own, str) and own else namespace)


def _shown(ident: ObjectId) -> str:
    group, kind, name, namespace = ident
    return f"{kind}{'.' + group if group else ''}/{name} in namespace {namespace}"
