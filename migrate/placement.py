"""Where each mapped value went in the fitted overlay, or that it has no effect.

The plan says which table entry maps a value; only the fit knows what became of it. A value
whose entry is a literal went to that literal when the overlay keeps it. Otherwise the value
is looked for in the overlay's patches (a patch file carries it), then in the fitted render
(the library renders it already). A value found nowhere in the render has no effect as the
chart treats it (``modelArtifacts.size`` without a model volume, say): it is reported so,
with the table's reason where it gives one, and never as reaching a literal that was not
written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from migrate.mapping import is_missing, lookup_leaf

if TYPE_CHECKING:
    from migrate.fit import Fit
    from migrate.mapping import Table
    from migrate.plan import Leaf


@dataclass(frozen=True)
class Placement:
    """What became of one mapped leaf: ``where`` it went (``literal modelName``, ``component
    monitoring``, ``patch patches/decode-replicas.yaml``, ``library``, ``accelerator nvidia``,
    ``names``, ``objects.yaml``), or ``no effect`` and why."""

    path: str
    where: str
    reason: str | None = None

    @property
    def effective(self) -> bool:
        return self.where != NO_EFFECT


NO_EFFECT = "no effect"


def place(leaves: list[Leaf], user: dict, table: Table, fitted: Fit, rendered: list[dict]) -> list[Placement]:
    """A placement for every mapped leaf of ``leaves``, in order."""
    entries = {entry.id: entry for entry in table.entries}
    components = fitted.components
    out = []
    for leaf in leaves:
        if leaf.status != "mapped" or leaf.entry not in entries:
            continue
        entry = entries[leaf.entry]
        value = value_at(user, leaf.path)
        out.append(_placement(leaf.path, value, entry, fitted, components, rendered))
    return out


def _placement(path: str, value: Any, entry: Any, fitted: Fit, components: list[str],
               rendered: list[dict]) -> Placement:
    if entry.to == "no-effect":
        return Placement(path, NO_EFFECT, entry.why)
    if entry.to == "literal" and entry.literal in fitted.literals:
        return Placement(path, f"literal {entry.literal}")
    if entry.to == "component":
        chosen = [c for c in components if c == entry.component or c.startswith(f"{entry.component}/")]
        if chosen:
            return Placement(path, f"component {chosen[0]}")
    if entry.to == "accelerator":
        return Placement(path, f"accelerator {fitted.overlay.accelerator}")
    if entry.to in ("name", "namespace"):
        return Placement(path, "names" if entry.to == "name" else "namespace")
    if entry.to == "resource":
        return Placement(path, "objects.yaml")
    known = not (is_missing(value) or _empty(value))
    if known:
        files = [p.path for p in fitted.patches if _carries(p.body(), value)]
        if files:
            return Placement(path, "patch " + ", ".join(files))
        if isinstance(value, str) and value in _images(fitted):
            return Placement(path, "images")
        if _carries(rendered, value):
            return Placement(path, "library")
        if entry.unused_why:  # a value the table knows can change nothing, and nothing shows it
            return Placement(path, NO_EFFECT, entry.unused_why)
    # interpreted by the chart (a modelCommand, a pvc:// URI): the patches of its groups carry it
    role = path.split(".", 1)[0] if path.startswith(("decode.", "prefill.")) else None
    files = [p.path for p in fitted.patches if p.role in ("content", "fix")
             and (role is None or p.name.startswith(f"{role}-"))
             and any(p.name.endswith(f"-{group}") or f"-{group}-" in p.name for group in entry.groups)]
    return Placement(path, "patch " + ", ".join(files) if files else "library")


def _images(fitted: Fit) -> set[str]:
    """The images the overlay's ``images:`` entries give."""
    out = set()
    for made in fitted.overlay.images:
        name = made.get("newName", made["name"])
        out.add(f"{name}@{made['digest']}" if "digest" in made else f"{name}:{made['newTag']}" if "newTag" in made
                else name)
    return out


def value_at(values: Any, path: str) -> Any:
    """The value at a leaf path of :func:`migrate.mapping.leaves`, whose keys may hold dots
    (``modelArtifacts.labels.llm-d.ai/model``): the longest key that fits is taken."""
    found = lookup_leaf(values, path)
    if not is_missing(found) or not isinstance(values, dict):
        return found
    for key in sorted(values, key=lambda k: -len(str(k))):
        key = str(key)
        if path == key:
            return values[key]
        for sep in (".", "["):
            if path.startswith(key + sep):
                rest = path[len(key) + (1 if sep == "." else 0):]
                node = values[key]
                if rest.startswith("["):
                    index, _, rest = rest[1:].partition("]")
                    if not (isinstance(node, list) and index.isdigit() and int(index) < len(node)):
                        continue
                    node = node[int(index)]
                    rest = rest.removeprefix(".")
                    if not rest:
                        return node
                inner = value_at(node, rest)
                if not is_missing(inner):
                    return inner
    return found


def _empty(value: Any) -> bool:
    return value is None or value == [] or value == {}


def _same(item: Any, value: Any) -> bool:
    """A rendered scalar that is the value: equal and of its kind, a number written as text
    (``"3"`` for 3, as Helm quotes resource quantities), or an argument ending in ``=value``."""
    if isinstance(value, bool) or isinstance(item, bool):
        return item is value or (isinstance(item, str) and item.endswith(f"={str(value).lower()}"))
    if isinstance(value, (int, float)):
        return item == value if isinstance(item, (int, float)) else isinstance(item, str) and item in (
            str(value), f"={value}") or (isinstance(item, str) and item.endswith(f"={value}"))
    if isinstance(value, str):
        return isinstance(item, str) and (item == value or item.endswith(f"={value}"))
    return False


def _carries(node: Any, value: Any) -> bool:
    """Whether ``node`` holds ``value`` somewhere (see :func:`_same`)."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif _same(item, value):
            return True
    return False
