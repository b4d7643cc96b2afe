"""What a YAML input holds: rendered Kubernetes objects (a manifest) or Helm values.

The two are easily swapped on the command line (``helm get values`` and ``helm get manifest``
differ by one word). Either mistake is named ("this file looks like rendered objects, not
values") instead of surfacing as a YAML or schema error about the wrong kind of file.
"""

from __future__ import annotations

from typing import Any

from migrate.errors import InputError

_OBJECT_KEYS = ("apiVersion", "kind", "metadata")


def is_object(doc: Any) -> bool:
    """A Kubernetes object (or a ``kind: List`` of them): ``apiVersion``, ``kind`` and ``metadata``
    or ``items``; no chart's values have these keys at the top."""
    return isinstance(doc, dict) and isinstance(doc.get("kind"), str) and "apiVersion" in doc and (
        "metadata" in doc or isinstance(doc.get("items"), list))


def objects_in(text: str) -> int:
    """How many of the YAML documents in ``text`` are Kubernetes objects (0 when it is not YAML)."""
    import yaml

    from migrate import yamlio

    try:
        return sum(1 for doc in yamlio.load_data_all(text) if is_object(doc))
    except (yaml.YAMLError, RecursionError, ValueError):
        return 0


def refuse_objects_as_values(data_or_text: Any, file: str) -> None:
    """Raise InputError when values (parsed, or text that is not one document) are rendered objects."""
    count = objects_in(data_or_text) if isinstance(data_or_text, str) else int(is_object(data_or_text))
    if count:
        what = f"{count} Kubernetes object{'s' if count != 1 else ''}"
        raise InputError(f"this file looks like rendered objects ({what}: apiVersion, kind, metadata), not values: "
                         "pass what `helm get values RELEASE` prints; the manifest (`helm get manifest RELEASE`) "
                         "goes to --verify-against", file=file)


def refuse_values_as_objects(docs: list[Any], file: str) -> None:
    """Raise InputError when a manifest's documents are values: maps, none of them with a kind."""
    if docs and all(isinstance(doc, dict) for doc in docs) and not any("kind" in doc for doc in docs):
        raise InputError("this file looks like Helm values (no document has a kind), not rendered objects: pass "
                         "what `helm get manifest RELEASE` or `helm template` prints; values go in as VALUES "
                         "(or --values)", file=file)
