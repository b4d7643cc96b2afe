"""The quick schema check agrees with jsonschema wherever it answers."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FIXTURES
from migrate import values as values_module
from migrate.schema import quick_check
from strategies import chart_values

SCHEMA = values_module._schema("v0.4.12")
DEFAULTS = values_module.load_defaults("v0.4.12")
VALIDATOR = jsonschema.validators.validator_for(SCHEMA)(SCHEMA)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from([1.0, 1.5, -0.0]) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner, max_size=2),
    max_leaves=4,
)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*prefix, index))
    return out


def _replaced(value: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    out = copy.copy(value)
    out[path[0]] = _replaced(value[path[0]], path[1:], new)
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(user=chart_values(), data=st.data())
def test_quick_check_agrees_with_jsonschema_on_mutated_values(user, data):
    effective = values_module.merge_defaults(DEFAULTS, user)
    path = data.draw(st.sampled_from(_paths(effective)), label="path")
    mutated = _replaced(effective, path, data.draw(json_values, label="new value"))
    verdict = quick_check(SCHEMA, mutated)
    assert verdict is not None, "the chart's schema uses a keyword the quick check does not know"
    assert verdict == VALIDATOR.is_valid(mutated)


@pytest.mark.parametrize("case", sorted(p.name for p in FIXTURES.iterdir() if (p / "values.yaml").is_file()))
def test_quick_check_passes_every_fixture(case):
    effective = values_module.merge_defaults(DEFAULTS, values_module.load_user_values(FIXTURES / case / "values.yaml"))
    assert quick_check(SCHEMA, effective) is True


@pytest.mark.parametrize("schema, instance, expected", [
    ({"type": "integer"}, 1.0, True),
    ({"type": "integer"}, 1.5, False),
    ({"type": "integer"}, True, False),
    ({"type": "number"}, False, False),
    ({"type": ["string", "null"]}, None, True),
    ({"enum": [1]}, True, False),
    ({"enum": [1]}, 1.0, True),
    ({"const": {"a": [1]}}, {"a": [1.0]}, True),
    ({"oneOf": [{"type": "integer"}, {"type": "number"}]}, 2, False),
    ({"anyOf": [{"type": "integer"}, {"type": "number"}]}, 2, True),
    ({"properties": {"a": {"type": "string"}}, "additionalProperties": False}, {"a": "x", "b": 1}, False),
    ({"properties": {"a": {"type": "string"}}, "additionalProperties": {"type": "integer"}}, {"b": 1}, True),
    ({"required": ["a"]}, {"b": 1}, False),
    ({"required": ["a"]}, [1], True),
    ({"items": {"type": "string"}}, ["a", 1], False),
    ({"type": "object", "x-kubernetes-map-type": "atomic", "format": "int32"}, {}, True),
    (True, 1, True),
    (False, 1, False),
])
def test_quick_check_follows_draft_07(schema, instance, expected):
    assert quick_check(schema, instance) is expected
    assert jsonschema.Draft7Validator(schema).is_valid(instance) is expected


@pytest.mark.parametrize("schema", [
    {"$schema": "http://json-schema.org/draft-04/schema#", "type": "integer"},
    {"$ref": "#/definitions/x"},
    {"pattern": "^a$"},
    {"minimum": 3},
    {"items": [{"type": "string"}]},
    {"properties": {"a": {"minLength": 1}}},
    {"additionalProperties": False, "patternProperties": {"^x": {}}},
])
def test_quick_check_leaves_unknown_keywords_to_jsonschema(schema):
    assert quick_check(schema, {"a": "x"} if "properties" in schema else ["x"]) is None


def test_the_schema_is_read_once():
    assert values_module._schema("v0.4.12") is SCHEMA
    assert json.dumps(SCHEMA)  # plain JSON data
