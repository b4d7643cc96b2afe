"""A quick JSON Schema (draft-07) check for the keywords chart value schemas use.

Loading the ``jsonschema`` package costs more than a whole migration of a small
release, and nearly every values file is valid. :func:`quick_check` answers
True only when the instance is valid by the draft-07 rules of the keywords it
knows (``type``, ``enum``, ``const``, ``properties``, ``required``,
``additionalProperties``, ``items``, ``oneOf``, ``anyOf``, ``allOf``); it
answers None when the schema uses any other validation keyword, and False when
it finds an error. Only True is final: otherwise ``jsonschema`` gives the
verdict and the message.
"""

from __future__ import annotations

from typing import Any

DRAFT_07 = "http://json-schema.org/draft-07/schema#"

# Keywords that never make an instance invalid (``format`` is an annotation unless a
# format checker is asked for, and none is).
ANNOTATIONS = frozenset({
    "$schema", "$id", "$comment", "title", "description", "default", "examples", "format",
    "readOnly", "writeOnly", "deprecated", "discriminator", "definitions", "$defs",
})


def quick_check(schema: Any, instance: Any) -> bool | None:
    """True: valid. False: invalid. None: the schema uses a keyword this check does not know,
    or declares another draft than 7 (draft 4 types ``1.0`` differently, for one)."""
    if isinstance(schema, dict) and schema.get("$schema", DRAFT_07).rstrip("#") != DRAFT_07.rstrip("#"):
        return None
    try:
        return _valid(schema, instance)
    except _Unknown:
        return None


class _Unknown(Exception):
    """The schema uses a keyword this check does not implement."""


def _valid(schema: Any, instance: Any) -> bool:
    if schema is True or schema == {}:
        return True
    if schema is False:
        return False
    if not isinstance(schema, dict):
        raise _Unknown
    for keyword, value in schema.items():
        check = _KEYWORDS.get(keyword)
        if check is None:
            if keyword in ANNOTATIONS or keyword.startswith("x-"):
                continue
            raise _Unknown
        if not check(value, instance, schema):
            return False
    return True


def _type(value: Any, instance: Any, schema: dict) -> bool:
    names = value if isinstance(value, list) else [value]
    return any(_is_type(name, instance) for name in names)


def _is_type(name: str, instance: Any) -> bool:
    if name == "object":
        return isinstance(instance, dict)
    if name == "array":
        return isinstance(instance, list)
    if name == "string":
        return isinstance(instance, str)
    if name == "boolean":
        return isinstance(instance, bool)
    if name == "null":
        return instance is None
    if isinstance(instance, bool):
        return False
    if name == "integer":
        return isinstance(instance, int) or (isinstance(instance, float) and instance.is_integer())
    if name == "number":
        return isinstance(instance, (int, float))
    raise _Unknown


def _enum(value: Any, instance: Any, schema: dict) -> bool:
    return any(_equal(instance, item) for item in value)


def _const(value: Any, instance: Any, schema: dict) -> bool:
    return _equal(instance, value)


def _equal(a: Any, b: Any) -> bool:
    """JSON equality: 1 equals 1.0, but not true; containers compare item by item."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return False
    return a == b


def _properties(value: dict, instance: Any, schema: dict) -> bool:
    if not isinstance(instance, dict):
        return True
    return all(_valid(sub, instance[name]) for name, sub in value.items() if name in instance)


def _required(value: list, instance: Any, schema: dict) -> bool:
    return not isinstance(instance, dict) or all(name in instance for name in value)


def _additional(value: Any, instance: Any, schema: dict) -> bool:
    if not isinstance(instance, dict):
        return True
    if "patternProperties" in schema:
        raise _Unknown
    known = schema.get("properties") or {}
    return all(_valid(value, item) for name, item in instance.items() if name not in known)


def _items(value: Any, instance: Any, schema: dict) -> bool:
    if not isinstance(instance, list):
        return True
    if isinstance(value, list):  # tuple form: positional schemas, then additionalItems
        raise _Unknown
    return all(_valid(value, item) for item in instance)


def _one_of(value: list, instance: Any, schema: dict) -> bool:
    return sum(1 for sub in value if _valid(sub, instance)) == 1


def _any_of(value: list, instance: Any, schema: dict) -> bool:
    return any(_valid(sub, instance) for sub in value)


def _all_of(value: list, instance: Any, schema: dict) -> bool:
    return all(_valid(sub, instance) for sub in value)


_KEYWORDS = {
    "type": _type,
    "enum": _enum,
    "const": _const,
    "properties": _properties,
    "required": _required,
    "additionalProperties": _additional,
    "items": _items,
    "oneOf": _one_of,
    "anyOf": _any_of,
    "allOf": _all_of,
}
