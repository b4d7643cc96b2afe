"""Load rendered Kubernetes manifests (``helm template``, ``helm get manifest``, ``kustomize build``).

Objects are keyed by ``(kind, name)``: that is how the two sides are matched. A manifest
file is read up to :data:`MAX_MANIFEST_BYTES`; its aliases may add at most
``yamlio.MAX_NODES`` nodes and ``yamlio.MAX_EXPANDED_CHARS`` characters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from migrate import yamlio
from migrate.errors import InputError
from migrate.reading import NoWriter, TooLarge, read_limited

MAX_MANIFEST_BYTES = 64 << 20  # far above the render of one release (Helm keeps a release in 1 MiB)

ObjectKey = tuple[str, str]
Objects = dict[ObjectKey, dict[str, Any]]


def object_id(key: ObjectKey) -> str:
    """``Kind/name``, the way reports name an object."""
    return f"{key[0]}/{key[1]}"


def load_manifest(path: Path) -> Objects:
    """Read a manifest file; InputError names the file when it cannot be read or parsed."""
    return parse_manifest(read_text(path, "manifest"), source=str(path))


def read_text(path: Path, what: str = "manifest", limit: int = MAX_MANIFEST_BYTES,
              fix: str = "a release's render is far smaller; pass the render of one release") -> str:
    """A UTF-8 input file (a pipe or FIFO too), at most ``limit`` bytes; InputError names it."""
    try:
        raw = read_limited(path, limit)
    except TooLarge:
        raise InputError(f"{what} is over the {limit >> 20} MiB limit: {fix}", file=str(path)) from None
    except NoWriter as exc:
        raise InputError(f"cannot read {what}: {exc} (--timeout)", file=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror or exc}", file=str(path)) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"cannot read {what}: not UTF-8 text (byte {exc.start})", file=str(path)) from None


def parse_manifest(text: str, source: str = "<manifest>") -> Objects:
    """Parse multi-document YAML into objects keyed by (kind, name).

    Comments and empty documents are skipped; ``kind: List`` is flattened.
    Duplicate YAML keys or two objects with the same kind and name are errors.
    """
    from migrate.sniff import refuse_values_as_objects

    objects: Objects = {}
    documents = _documents(text, source)
    refuse_values_as_objects(documents, source)  # values given as a manifest: named, not "no kind"
    for doc in documents:
        for obj in _flatten(doc, source):
            key = _key(obj, source)
            if key in objects:
                raise InputError(f"{object_id(key)} appears twice", file=source)
            objects[key] = obj
    return objects


def _documents(text: str, source: str) -> list[Any]:
    try:
        return yamlio.load_strict_all(text)
    except yamlio.YamlError as exc:
        raise InputError(f"invalid YAML: {exc}", file=source) from exc
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {_one_line(exc)}", file=source) from exc
    except RecursionError:
        raise InputError("invalid YAML: nesting too deep", file=source) from None


def _flatten(doc: Any, source: str) -> list[dict[str, Any]]:
    if not isinstance(doc, dict):
        raise InputError(f"a document is a {type(doc).__name__}, not a Kubernetes object", file=source)
    if doc.get("kind") == "List" and isinstance(doc.get("items"), list):
        return [item for item in doc["items"] if item is not None]
    return [doc]


def _key(obj: Any, source: str) -> ObjectKey:
    if not isinstance(obj, dict):
        raise InputError("a List item is not a Kubernetes object", file=source)
    kind = obj.get("kind")
    name = (obj.get("metadata") or {}).get("name") if isinstance(obj.get("metadata"), dict) else None
    if not isinstance(kind, str) or not kind:
        raise InputError(f"an object has no kind (name {name!r})", file=source)
    if not isinstance(name, str) or not name:
        raise InputError(f"a {kind} has no metadata.name", file=source)
    return kind, name


def _one_line(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{problem} (line {mark.line + 1})" if mark is not None else problem
