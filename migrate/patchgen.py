"""Turn the difference between two objects into JSON 6902 operations.

The migration renders the library part of an overlay with Kustomize, compares
each object with what Helm renders for the same values, and writes the
operations computed here as patches. Operations are minimal where it matters
for readability and for the library's replacements: lists of named items
(containers, env, volumes, mounts) are aligned by name, other lists by value,
so that an element the library already got right is moved, never rewritten.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

Op = dict[str, Any]


def same(a: Any, b: Any) -> bool:
    """Type-strict equality: ``"1"`` differs from ``1`` and ``True`` from ``1``."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def pointer(parts: list[str | int]) -> str:
    """JSON pointer (RFC 6901) of a path given as a list of keys and indices."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def diff(src: Any, dst: Any, path: list[str | int] | None = None) -> list[Op]:
    """Operations that turn ``src`` into ``dst``, applied in order."""
    path = path or []
    if same(src, dst):
        return []
    if isinstance(src, dict) and isinstance(dst, dict):
        return _diff_dicts(src, dst, path)
    if isinstance(src, list) and isinstance(dst, list):
        return _diff_lists(src, dst, path)
    return [{"op": "replace", "path": pointer(path), "value": strip_nulls(dst)}]


def _empty(value: Any) -> bool:
    """``null``, ``{}`` and ``[]`` mean the same as an absent key to the API server, and so does
    a map of nothing but such values (``resources: {limits: {}, requests: {}}``)."""
    if isinstance(value, dict):
        return all(_empty(v) for v in value.values())
    return value is None or value == []


# An object's own metadata, labels and annotations are never removed whole: Kustomize keeps
# its bookkeeping of earlier names there while it builds (and panics without it).
_KEPT_WHOLE = (("metadata",), ("metadata", "annotations"), ("metadata", "labels"))


def _removal(value: Any, at: list[str | int]) -> list[Op]:
    if tuple(at) in _KEPT_WHOLE and isinstance(value, dict):
        return _diff_dicts(value, {}, at)
    return [{"op": "remove", "path": pointer(at)}]


def _diff_dicts(src: dict, dst: dict, path: list[str | int]) -> list[Op]:
    ops: list[Op] = []
    for key, value in src.items():
        if key not in dst and not _empty(value):
            ops.extend(_removal(value, [*path, key]))
    for key, value in dst.items():
        if key not in src:
            if not _empty(value):
                ops.append({"op": "add", "path": pointer([*path, key]), "value": strip_nulls(value)})
        elif _empty(value):
            if not _empty(src[key]):
                ops.extend(_removal(src[key], [*path, key]))
        else:
            ops.extend(diff(src[key], value, [*path, key]))
    return ops


def strip_nulls(value: Any) -> Any:
    """Drop ``null`` map values, which Kustomize would drop or keep unpredictably."""
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value]
    return value


def _identity(item: Any) -> str:
    """What aligns list items: the name of a named item, else the item itself."""
    if isinstance(item, dict) and isinstance(item.get("name"), str):
        return "name:" + item["name"]
    return "value:" + json.dumps(_typed(item), sort_keys=True)


def _typed(item: Any) -> Any:
    if isinstance(item, dict):
        return {k: _typed(v) for k, v in item.items()}
    if isinstance(item, list):
        return [_typed(v) for v in item]
    return [type(item).__name__, item]


def _diff_lists(src: list, dst: list, path: list[str | int]) -> list[Op]:
    """Align by identity; matched items are diffed in place, the rest added or removed."""
    src_ids = [_identity(x) for x in src]
    dst_ids = [_identity(x) for x in dst]
    if len(set(src_ids)) < len(src_ids) or len(set(dst_ids)) < len(dst_ids):
        src_ids = ["value:" + json.dumps(_typed(x), sort_keys=True) for x in src]
        dst_ids = ["value:" + json.dumps(_typed(x), sort_keys=True) for x in dst]
    matcher = difflib.SequenceMatcher(a=src_ids, b=dst_ids, autojunk=False)
    ops: list[Op] = []
    offset = 0  # index shift in the list as edited so far
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for k in range(i2 - i1):
                ops.extend(diff(src[i1 + k], dst[j1 + k], [*path, i1 + k + offset]))
            continue
        if tag == "replace" and not any(_identity(x).startswith("name:") for x in (*src[i1:i2], *dst[j1:j2])):
            # values changed in place (an argument, a port): one edit each, no remove + add;
            # what one side has more of is removed or added after them
            common = min(i2 - i1, j2 - j1)
            for k in range(common):
                ops.extend(diff(src[i1 + k], dst[j1 + k], [*path, i1 + k + offset]))
            for _ in range(i2 - i1 - common):
                ops.append({"op": "remove", "path": pointer([*path, i1 + common + offset])})
            for k in range(common, j2 - j1):
                ops.append({"op": "add", "path": pointer([*path, i1 + k + offset]), "value": strip_nulls(dst[j1 + k])})
            offset += (j2 - j1) - (i2 - i1)
            continue
        if tag in ("replace", "delete"):
            for _ in range(i2 - i1):
                ops.append({"op": "remove", "path": pointer([*path, i1 + offset])})
            offset -= i2 - i1
        if tag in ("replace", "insert"):
            for k in range(j2 - j1):
                ops.append({"op": "add", "path": pointer([*path, i2 + offset + k]), "value": strip_nulls(dst[j1 + k])})
            offset += j2 - j1
    return _compact_list_ops(ops, dst, path)


def _compact_list_ops(ops: list[Op], dst: list, path: list[str | int]) -> list[Op]:
    """Prefer one ``replace`` of a list of plain values when the edit script is longer than the
    list. Lists of named items (containers, env, volumes) keep their per-item edits, so that what
    the library's replacements put there survives."""
    named = any(isinstance(item, dict) and isinstance(item.get("name"), str) for item in dst)
    if not named and len(ops) > max(2, len(dst)):
        return [{"op": "replace", "path": pointer(path), "value": strip_nulls(dst)}]
    return ops
