"""extraObjects (CHART-BEHAVIOUR §15): each item rendered with the root context."""

from __future__ import annotations

from typing import Any

from migrate.chart.context import Release, render_value, root_context
from migrate.chart.gotmpl import field


def extra_objects_text(values: dict[str, Any], release: Release) -> str:
    """The text of templates/extra-objects.yaml: one ``---`` document per item."""
    items = field(values, "extraObjects") or []
    context = root_context(values, release)
    return "".join(
        "\n---\n" + render_value(item, context, f"extraObjects[{index}]")
        for index, item in enumerate(items)
    )
