"""Container images the overlay changes, as Kustomize's ``images:`` field instead of patches.

When every container of the library that runs one image (by name, without tag) runs one and
the same other image in Helm's render, the overlay says so once, the way a person would:
``images: [{name: ghcr.io/llm-d/llm-d-routing-sidecar, newTag: v0.2.0}]``. Where containers of
one library image end up on different images, or the new image cannot be written as a new
name, tag or digest (no tag where the library has one), the patches keep the change.

Kustomize applies ``images:`` to every object of the overlay, so an image that an object of
``objects.yaml`` also runs is left to patches.
"""

from __future__ import annotations

import re
from typing import Any

_CONTAINER_LISTS = ("containers", "initContainers")
_IMAGE_PATH = re.compile(r"/(?:containers|initContainers)/\d+/image$")
_UNKNOWN = "\0unknown"


def split(image: str) -> tuple[str, str | None, str | None]:
    """``name``, ``tag`` and ``digest`` of an image reference (``repo/name:tag@sha256:...``)."""
    rest, _, digest = image.partition("@")
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        return rest[:colon], rest[colon + 1:], digest or None
    return rest, None, digest or None


def occurrences(obj: Any, path: str = "") -> list[tuple[str, str]]:
    """Every container image of an object, as (JSON pointer, image)."""
    found: list[tuple[str, str]] = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            here = f"{path}/{key}"
            if key in _CONTAINER_LISTS and isinstance(value, list):
                for index, container in enumerate(value):
                    if isinstance(container, dict) and isinstance(container.get("image"), str):
                        found.append((f"{here}/{index}/image", container["image"]))
            found.extend(occurrences(value, here))
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            found.extend(occurrences(value, f"{path}/{index}"))
    return found


def _reshaped(pointer: str, ops: list[dict]) -> bool:
    """Whether an operation replaces, removes or moves the container of ``pointer`` (or a list
    it is in gets items added or removed before it, which moves it)."""
    container = pointer.rsplit("/", 1)[0]
    items = container.rsplit("/", 1)[0]
    for op in ops:
        path = str(op.get("path", ""))
        if container == path or container.startswith(path + "/"):
            return True
        if op.get("op") in ("add", "remove", "move", "copy") and path.rsplit("/", 1)[0] == items:
            return True
        if op.get("op") in ("move", "copy") and str(op.get("from", "")).startswith(items):
            return True
    return False


def entry(source: str, target: str) -> dict[str, str] | None:
    """The ``images:`` entry that turns ``source`` into ``target``, or None when none can (or
    none is needed)."""
    if source == target:
        return None
    name, tag, digest = split(source)
    new_name, new_tag, new_digest = split(target)
    if (tag or digest) and not (new_tag or new_digest):
        return None  # Kustomize cannot drop a tag
    if digest and new_tag and not new_digest:
        return None  # nor a digest
    out: dict[str, str] = {"name": name}
    if new_name != name:
        out["newName"] = new_name
    if new_digest:
        out["digest"] = new_digest
    elif new_tag:
        out["newTag"] = new_tag
    if len(out) == 1:
        return None
    return out


def plan(pairs: list[tuple[dict, dict, list[dict]]], elsewhere: list[dict]) -> tuple[list[dict], set[tuple[int, str]]]:
    """``images:`` entries for the pairs (library object, Helm object, operations), and the
    (pair index, pointer) of every ``replace`` of an image that they make unnecessary.
    ``elsewhere`` are objects the overlay emits as they are (objects.yaml)."""
    by_name: dict[str, list[tuple[int, str, str, str]]] = {}
    for index, (library_obj, _, ops) in enumerate(pairs):
        changed = {op["path"]: op.get("value") for op in ops
                   if op.get("op") == "replace" and _IMAGE_PATH.search(str(op.get("path", "")))}
        for pointer, image in occurrences(library_obj):
            target = changed.get(pointer, image)
            if _reshaped(pointer, ops) or not isinstance(target, str):
                target = _UNKNOWN  # the container is rewritten or moved: the patches keep its image
            by_name.setdefault(split(image)[0], []).append((index, pointer, image, target))
    taken = {split(image)[0] for obj in elsewhere for _, image in occurrences(obj)}
    # Helm's images by name: Kustomize rewrites every image of an entry's name, the ones
    # patches set included, so all of Helm's images of that name must be the entry's image
    helm: dict[str, set[str]] = {}
    for _, target, _ in pairs:
        for _, image in occurrences(target):
            helm.setdefault(split(image)[0], set()).add(image)
    entries: list[dict] = []
    dropped: set[tuple[int, str]] = set()
    for name, found in sorted(by_name.items()):
        targets = {target for *_, target in found}
        sources = {image for _, _, image, _ in found}
        if name in taken or len(targets) != 1 or len(sources) != 1:
            continue
        target = targets.pop()
        source = sources.pop()
        if target == source or target == _UNKNOWN:
            continue
        if helm.get(name, {target}) - {target}:
            continue  # another container of Helm's runs another image of this name
        made = entry(source, target)
        if made is None:
            continue
        entries.append(made)
        dropped.update((index, pointer) for index, pointer, _, _ in found)
    return entries, dropped


def apply(entries: list[dict], obj: Any) -> Any:
    """``obj`` with the images the entries rename, as Kustomize's ``images:`` rewrites them."""
    import copy

    out = copy.deepcopy(obj)
    for pointer, image in occurrences(out):
        name, _, _ = split(image)
        for made in entries:
            if made["name"] != name:
                continue
            _, tag, digest = split(image)
            new = made.get("newName", name)
            if "digest" in made:
                new += "@" + made["digest"]
            elif "newTag" in made:
                new += ":" + made["newTag"]
            else:
                new += (":" + tag if tag else "") + ("@" + digest if digest else "")
            _set(out, pointer, new)
    return out


def _set(obj: Any, pointer: str, value: str) -> None:
    parts = pointer.strip("/").split("/")
    node = obj
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[parts[-1]] = value
