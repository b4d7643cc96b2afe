"""extraObjects (CHART-BEHAVIOUR §15): each item rendered with the root context."""

from __future__ import annotations

from typing import Any

from migrate.chart.context import Release, render_value, root_context
from migrate.chart.gotmpl import field, go_print
from migrate.errors import ChartRefusal


def extra_object_items(value: Any) -> list[tuple[str, Any]]:
    """(values key, item) pairs as ``range .Values.extraObjects`` visits them: a list in
    order, a map's values in sorted-key order, nothing for nil; other values make Helm fail."""
    if value is None:
        return []
    if isinstance(value, list):
        return [(f"extraObjects[{index}]", item) for index, item in enumerate(value)]
    if isinstance(value, dict):
        return [(f"extraObjects.{key}", value[key]) for key in sorted(value)]
    raise ChartRefusal(
        f"range can't iterate over {go_print(value)} (Helm refuses to render); extraObjects "
        "must be a list of objects",
        key="extraObjects",
    )


def extra_objects_text(values: dict[str, Any], release: Release) -> str:
    """The text of templates/extra-objects.yaml: one ``---`` document per item."""
    items = extra_object_items(field(values, "extraObjects"))
    context = root_context(values, release)
    return "".join("\n---\n" + render_value(item, context, key) for key, item in items)
