"""patchgen: the operations turn one object into the other, and stay small."""

from __future__ import annotations

import copy

import jsonpatch
from hypothesis import given, settings
from hypothesis import strategies as st

from migrate.patchgen import diff, pointer, same

scalars = st.one_of(st.integers(-3, 3), st.sampled_from(["1", "a", "b", "x/y", "~"]), st.booleans(), st.floats(0, 2))
named = st.builds(lambda n, v: {"name": n, "value": v}, st.sampled_from("abcde"), scalars)
trees = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.lists(named, max_size=4),
        st.dictionaries(st.sampled_from(["p", "q", "r/s", "t~u"]), inner, max_size=4),
    ),
    max_leaves=25,
)


def _without_nulls(value):
    if isinstance(value, dict):
        pruned = {k: _without_nulls(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v is not None and v != {} and v != []}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


@settings(max_examples=300, deadline=None)
@given(trees, trees)
def test_operations_turn_source_into_target(a, b):
    a, b = {"root": a}, {"root": b}
    result = jsonpatch.apply_patch(copy.deepcopy(a), diff(a, b))
    assert same(_without_nulls(result), _without_nulls(b))


def test_equal_objects_need_no_operation():
    assert diff({"a": [1, {"name": "x"}]}, {"a": [1, {"name": "x"}]}) == []


def test_types_are_strict():
    assert diff({"v": "1"}, {"v": 1}) == [{"op": "replace", "path": "/v", "value": 1}]
    assert diff({"v": True}, {"v": 1}) == [{"op": "replace", "path": "/v", "value": 1}]


def test_named_items_are_edited_in_place_not_replaced():
    src = {"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}
    dst = {"env": [{"name": "A", "value": "1"}, {"name": "C", "value": "3"}, {"name": "B", "value": "9"}]}
    assert diff(src, dst) == [
        {"op": "add", "path": "/env/1", "value": {"name": "C", "value": "3"}},
        {"op": "replace", "path": "/env/2/value", "value": "9"},
    ]


def test_list_edits_keep_elements_that_are_already_right():
    src = {"args": ["--model", "org/m", "--port", "8200"]}
    dst = {"args": ["org/m", "--port", "8200", "--tensor-parallel-size", "4"]}
    ops = diff(src, dst)
    assert {"op": "remove", "path": "/args/0"} in ops
    assert all(op.get("value") != "org/m" for op in ops)


def test_empty_values_equal_absent_keys():
    assert diff({"a": {}}, {}) == []
    assert diff({}, {"a": None, "b": []}) == []


def test_pointer_escapes():
    assert pointer(["metadata", "labels", "llm-d.ai/role", "a~b"]) == "/metadata/labels/llm-d.ai~1role/a~0b"
