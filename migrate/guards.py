"""``test`` operations that name the list items a patch edits by index.

A JSON 6902 operation reaches a list item by its position (``.../env/2/value``). Should the
library ever order that list otherwise, the operation would silently edit another item. So
before an edit that goes through an item of a named list (containers, env, ports, volumes,
volume mounts), the patch tests that item's ``name``; before an edit of an argument (``args``,
``command``), it tests the argument at that position. Kustomize then fails loudly instead of
editing the wrong item, and the patch says which item it edits.

The tests are computed by applying the operations one by one to the object as the patch sees
it (``jsonpatch``), so that each test holds where Kustomize applies it. A test already made for
an item is not repeated until an operation adds or removes items of its list.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch

NAMED_LISTS = frozenset({"containers", "initContainers", "env", "ports", "volumes", "volumeMounts"})
VALUE_LISTS = frozenset({"args", "command"})


def _parts(pointer: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]] if pointer else []


def _pointer(parts: list[str]) -> str:
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


def _tests_for(op: dict, doc: Any, unsure: frozenset[str]) -> list[dict]:
    """The tests that name every indexed item ``op`` goes through, in ``doc`` as it is now.
    An argument that a literal may have written (``unsure``) is not tested: should the literal
    be left out, the library's default stands there when the patch runs."""
    parts = _parts(str(op.get("path", "")))
    tests: list[dict] = []
    node = doc
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                break
            field = parts[depth - 1] if depth else ""
            item = node[int(part)]
            here = _pointer(parts[: depth + 1])
            if field in NAMED_LISTS and isinstance(item, dict) and isinstance(item.get("name"), str):
                if not (last and op.get("op") == "add"):  # an insert moves the item; it is not edited
                    tests.append({"op": "test", "path": here + "/name", "value": item["name"]})
            elif (field in VALUE_LISTS and last and op.get("op") in ("replace", "remove") and isinstance(item, str)
                  and not any(u in item or item in u for u in unsure)):
                tests.append({"op": "test", "path": here, "value": item})
            node = item
        elif isinstance(node, dict):
            if part not in node:
                break
            node = node[part]
        else:
            break
    return tests


def guarded(ops: list[dict], source: Any, unsure: frozenset[str] = frozenset(),
            made: set[tuple[str, str]] | None = None) -> list[dict]:
    """``ops`` with the tests that name the items they edit, each placed before its edit.
    ``source`` is the object before the first operation; it is not changed. ``unsure`` are
    values that may not be there when Kustomize applies the patch (the literals'). ``made``
    carries the tests earlier patch files of the same object made: the first test of an item
    already makes the build fail should the library order the list otherwise."""
    unsure = frozenset(u for u in unsure if u)
    doc = copy.deepcopy(source)
    out: list[dict] = []
    made = set() if made is None else made
    for op in ops:
        for test in _tests_for(op, doc, unsure):
            key = (test["path"], repr(test["value"]))
            if key not in made:
                out.append(test)
                made.add(key)
        out.append(op)
        try:
            doc = jsonpatch.apply_patch(doc, [op])
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException):
            return out + [o for o in ops[ops.index(op) + 1:]]  # past this the object is unknown: no more tests
        last = str(op.get("path", "")).rsplit("/", 1)[-1]
        if op.get("op") in ("add", "remove", "move", "copy") and (last.isdigit() or last == "-"):
            shifted = str(op.get("path", "")).rsplit("/", 1)[0]  # a list whose items moved
            for key in [key for key in made if key[0].startswith(shifted + "/")]:
                made.discard(key)
    return out
