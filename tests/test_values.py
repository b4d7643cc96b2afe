"""Values loading (Helm's YAML rules), coalescing with the defaults, schema validation, dumping."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from migrate.errors import InputError
from migrate.values import effective_values, load_user_values, merge_defaults, validate
from migrate.yamlio import dump, load_helm

MAPPINGS = Path(__file__).resolve().parent.parent / "mappings" / "llm-d-modelservice" / "v0.4.12"

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "llm-d-modelservice" / "v0.4.12"


def write(tmp_path: Path, content: str | bytes, name: str = "values.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", {}),
        ("null\n", {}),
        ("USER-SUPPLIED VALUES:\nnull\n", {}),
        ("USER-SUPPLIED VALUES:\na: 1\n", {"a": 1}),
        ("COMPUTED VALUES:\na: 1\n", {"a": 1}),
        ("{\"a\": [1, \"x\"]}", {"a": [1, "x"]}),
        ("a: y\nb: N\nc: yes\nd: off\ne: 'y'\nf: True", {"a": True, "b": False, "c": True, "d": False, "e": "y", "f": True}),
        ("n: 1\ny: 2\n1: a\n1.5: b", {"false": 1, "true": 2, "1": "a", "1.5": "b"}),
        ("3.14159265358979: a\n123456.789: b\n1e+100: c\n16777217.0: d\n1e-50: e\n-1e+100: f\n18446744073709551616: g",
         {"3.1415927": "a", "123456.79": "b", ".inf": "c", "1.6777216e+07": "d", "0": "e", "-.inf": "f", "1.8446744e+19": "g"}),
        ("9223372036854775807: a\n-9223372036854775808: b", {"9223372036854775807": "a", "-9223372036854775808": "b"}),
        ("a: 1e5\nb: 0x10\nc: 010\nd: 1_000\ne: 1:20\nf: 2001-12-14\ng: 0o17\nh: .5\ni: 09", {"a": 100000.0, "b": 16, "c": 8, "d": 1000, "e": "1:20", "f": "2001-12-14", "g": 15, "h": 0.5, "i": 9.0}),
        ("a: &x {b: 1}\nc: *x\nd: {<<: *x, e: 2}", {"a": {"b": 1}, "c": {"b": 1}, "d": {"b": 1, "e": 2}}),
        ("a: 1\na: 2", {"a": 2}),
    ],
)
def test_load_user_values(tmp_path: Path, text: str, expected: dict[str, Any]) -> None:
    assert load_user_values(write(tmp_path, text)) == expected


BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(7)
)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"a: \xff\xfe", "not UTF-8"),
        ("- a\n- b\n", "not a list"),
        ("just a string\n", "not a single value"),
        ("a: !!python/object/apply:os.system ['true']\n", "tag not allowed"),
        ("a: !!binary aGVsbG8=\nb: !custom x\n", "tag not allowed"),
        ("a: [1\n", "invalid YAML"),
        ("a: {~: v}\n", "unsupported map key of type: %!s(<nil>)"),
        ("a: {null: v}\n", "unsupported map key of type: %!s(<nil>)"),
        ("a: {12345678901234567890: v}\n", "unsupported map key of type: uint64"),
        ("a: {0xab54a98ceb1f0ad2: v}\n", "unsupported map key of type: uint64"),
        ("a:\n  b: 1\n c: 2\n", "invalid YAML"),
        (BOMB, "aliases expand"),
        ("a: " + "[" * 150 + "]" * 150 + "\n", "nesting deeper"),
        ("a: .inf\n", "infinity"),
    ],
)
def test_load_user_values_refuses(tmp_path: Path, content: str | bytes, message: str) -> None:
    path = write(tmp_path, content, "bad.yaml")
    with pytest.raises(InputError) as caught:
        load_user_values(path)
    text = str(caught.value)
    assert message in text and str(path) in text and "\n" not in text


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        load_user_values(tmp_path / "nope.yaml")


DEFAULTS = {"a": {"b": 1, "c": [1, 2], "d": {"e": 1}}, "f": 1, "g": {"h": 1}}


@pytest.mark.parametrize(
    "user, expected",
    [
        ({}, DEFAULTS),
        ({"a": {"b": 2}}, {"a": {"b": 2, "c": [1, 2], "d": {"e": 1}}, "f": 1, "g": {"h": 1}}),
        ({"a": {"c": [3]}}, {"a": {"b": 1, "c": [3], "d": {"e": 1}}, "f": 1, "g": {"h": 1}}),
        ({"a": {"b": None, "d": None}}, {"a": {"c": [1, 2]}, "f": 1, "g": {"h": 1}}),
        ({"f": None, "g": None}, {"a": DEFAULTS["a"]}),
        ({"a": {"x": None}}, DEFAULTS),
        ({"a": {"d": {"e": None, "z": 1}}}, {"a": {"b": 1, "c": [1, 2], "d": {"z": 1}}, "f": 1, "g": {"h": 1}}),
        ({"a": {"new": {"k": None}}}, {"a": {**DEFAULTS["a"], "new": {"k": None}}, "f": 1, "g": {"h": 1}}),
        ({"f": {"x": 1}, "g": 5}, {"a": DEFAULTS["a"], "f": {"x": 1}, "g": 5}),
        ({"list": [{"k": None}]}, {**DEFAULTS, "list": [{"k": None}]}),
    ],
)
def test_merge_defaults(user: dict[str, Any], expected: dict[str, Any]) -> None:
    before = yaml.safe_dump([DEFAULTS, user])
    assert merge_defaults(DEFAULTS, user) == expected
    assert yaml.safe_dump([DEFAULTS, user]) == before


def test_merged_result_shares_nothing_with_inputs() -> None:
    user = {"a": {"c": [9]}}
    merged = merge_defaults(DEFAULTS, user)
    merged["a"]["c"].append(1)
    merged["g"]["h"] = 2
    assert user == {"a": {"c": [9]}} and DEFAULTS["g"] == {"h": 1}


@pytest.mark.parametrize(
    "text, key, message",
    [
        ("decode: {replicas: two}", "decode.replicas", "'two' is not of type 'integer'"),
        ("routing: {modelName: x}", "routing.modelName", "modelName"),
        ("accelerator: {resourceClaimTemplates: {nvidia: {count: 2}}}", "accelerator.resourceClaimTemplates.nvidia.count", "count"),
        ("decode: {initContainers: [{image: busybox}]}", "decode.initContainers[0]", "'name' is a required property"),
        ("extraObjects: [abc]", "extraObjects[0]", "is not of type 'object'"),
        ("multinode: 'yes'", "multinode", "is not of type 'boolean'"),
    ],
)
def test_schema_errors_name_the_key(tmp_path: Path, text: str, key: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as caught:
        effective_values(path)
    assert caught.value.key == key
    assert str(caught.value).startswith(f"{path}: {key}: ") and message in str(caught.value)


def test_schema_accepts_helm_booleans_and_extra_root_keys(tmp_path: Path) -> None:
    values = effective_values(write(tmp_path, "multinode: y\nnameOverride: x\nschedulerName: s\n"))
    assert values["multinode"] is True and values["nameOverride"] == "x"
    validate(values, "v0.4.12")


@pytest.mark.parametrize("case", sorted(p.name for p in FIXTURES.iterdir() if p.is_dir()))
def test_fixture_values_are_valid(case: str) -> None:
    values = effective_values(FIXTURES / case / "values.yaml")
    assert values["modelArtifacts"]["mountPath"] == "/model-cache"


AMBIGUOUS = [
    "y", "Y", "n", "N", "yes", "No", "on", "OFF", "true", "False", "null", "~", "", "1", "-1", "+1",
    "0x1F", "0o17", "010", "1_000", "1.5", ".5", "1e5", "1E+5", ".inf", "-.Inf", ".nan", "1:20",
    "2001-12-14", "2001-12-14T21:59:43.10-05:00", "<<", "=",
]


@pytest.mark.parametrize("text", AMBIGUOUS)
def test_dump_quotes_strings_that_look_like_other_types(text: str) -> None:
    data = {"k": text, text or "empty": [text]}
    out = dump(data)
    assert yaml.safe_load(out) == data
    assert load_helm(out) == data


def test_dump_keeps_order_and_types() -> None:
    data = {"z": 1, "a": {"y": True, "b": None, "c": 1.5, "d": "plain text", "e": [1, "2"]}, "m": "multi\nline\n"}
    out = dump(data)
    assert list(yaml.safe_load(out)) == ["z", "a", "m"]
    assert yaml.safe_load(out) == data and load_helm(out) == data


@pytest.mark.parametrize(
    "text",
    ["a\n", "a\nb", "a \nb", " lead\nx", "x\n\n", "\n", "tab\t\nx", "a\x85b\nc", "a\u2028b\nc", "a\rb\nc", "trail \n", "# c\nx"],
)
def test_dump_round_trips_multi_line_strings(text: str) -> None:
    data = {"k": text, "l": [text]}
    out = dump(data)
    assert yaml.safe_load(out) == data and load_helm(out) == data


def test_dump_writes_plain_multi_line_text_as_a_literal_block() -> None:
    assert dump({"k": "a\nb\n"}) == "k: |\n  a\n  b\n"


def test_yaml_errors_give_the_file_line(tmp_path: Path) -> None:
    path = write(tmp_path, "USER-SUPPLIED VALUES:\na: 1\nb: [1\n")
    with pytest.raises(InputError, match=r"line 4"):
        load_user_values(path)


@pytest.mark.parametrize("path", [
    MAPPINGS / "values.yaml",
    MAPPINGS / "chart-facts.yaml",
], ids=lambda p: p.name)
def test_shipped_data_reads_the_same_with_the_fast_loader(path: Path) -> None:
    from migrate.yamlio import load_shipped

    text = path.read_text(encoding="utf-8")
    fast, exact = load_shipped(text), load_helm(text)
    assert fast == exact and json.dumps(fast) == json.dumps(exact)  # same types and key order too


_SCALARS = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
            | st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20)
            | st.sampled_from(["yes", "off", "0x1F", "1e5", "~", "- a", "a: b", "#c", "'q'", "\"", "a\nb\n", " x", "\t"]))
_DATA = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(data=st.lists(_DATA, max_size=3) | st.dictionaries(st.text(max_size=6), _DATA, max_size=4))
def test_fast_dumper_writes_what_the_pure_python_dumper_writes(data: Any) -> None:
    """libyaml's emitter, given the same resolvers, writes text that PyYAML and Helm's rules
    read exactly as they read the pure-Python emitter's (the text itself may differ in form,
    e.g. ``'': x`` for ``? ''\n: x``)."""
    from migrate import yamlio

    slow = yaml.dump(data, **{**yamlio._DUMP_OPTIONS, "Dumper": yamlio.HelmSafeDumper})
    fast = dump(data)
    assert yaml.safe_load(fast) == yaml.safe_load(slow)
    assert load_helm(fast) == load_helm(slow)
