"""The normalisation rules of DESIGN.md "Equivalence", one at a time, each on and off."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migrate import cli
from migrate.compare import compare, json_pointer
from migrate.errors import InputError
from migrate.manifests import parse_manifest
from migrate.normalise import RULES, canonical_quantity, normalise, parse_quantity

ALL = list(RULES)


def without(rule: str) -> list[str]:
    return [r for r in ALL if r != rule]


def pod(**container: object) -> dict:
    return {"kind": "Deployment", "metadata": {"name": "x"},
            "spec": {"template": {"spec": {"containers": [{"name": "c", **container}]}}}}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", Decimal(1)), (1, Decimal(1)), ("1000m", Decimal(1)), (0.5, Decimal("0.5")),
        ("500m", Decimal("0.5")), ("1Gi", Decimal(2**30)), ("1024Mi", Decimal(2**30)),
        ("1G", Decimal(10**9)), ("1e3", Decimal(1000)), ("1k", Decimal(1000)), ("2E", Decimal(2 * 10**18)),
        ("100n", Decimal("1e-7")), (".5", Decimal("0.5")), ("+3", Decimal(3)),
        ("1 Gi", None), ("Gi", None), ("1gi", None), ("one", None), (True, None), (None, None), ([1], None),
    ],
)
def test_parse_quantity(text: object, value: Decimal | None) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize(
    ("text", "canonical"),
    [("1", "1"), ("1000m", "1"), (0.5, "500m"), ("1024Mi", "1Gi"), ("1073741824", "1Gi"),
     ("16Gi", "16Gi"), ("1G", "1000000000"), ("1500", "1500"), ("2048", "2Ki"), ("1u", "1u"), ("0", "0")],
)
def test_canonical_quantity(text: str, canonical: str) -> None:
    assert canonical_quantity(parse_quantity(text)) == canonical


@given(st.decimals(min_value=0, max_value=10**15, places=3, allow_nan=False, allow_infinity=False))
def test_canonical_quantity_keeps_the_value(value: Decimal) -> None:
    assert parse_quantity(canonical_quantity(value)) == value


def test_rule_ids_match_cli_switches() -> None:
    assert tuple(RULES) == cli.RULE_IDS


def test_unknown_rule_refused() -> None:
    with pytest.raises(ValueError, match="unknown normalisation rule"):
        normalise({}, ["no-such-rule"])


def test_input_is_not_changed() -> None:
    obj = {"kind": "A", "metadata": {"name": "a", "labels": {"helm.sh/chart": "c"}}, "x": None}
    normalise(obj)
    assert obj == {"kind": "A", "metadata": {"name": "a", "labels": {"helm.sh/chart": "c"}}, "x": None}


def test_provenance_labels_removed_from_object_and_pod_template() -> None:
    labels = {"helm.sh/chart": "c-1", "app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/version": "1",
              "app": "x"}
    obj = {"metadata": {"name": "x", "labels": dict(labels)},
           "spec": {"selector": {"matchLabels": {"helm.sh/chart": "c-1"}},
                    "template": {"metadata": {"labels": dict(labels)}}}}
    out = normalise(obj, ["provenance-labels"])
    assert out["metadata"]["labels"] == {"app": "x"}
    assert out["spec"]["template"]["metadata"]["labels"] == {"app": "x"}
    assert out["spec"]["selector"] == {"matchLabels": {"helm.sh/chart": "c-1"}}  # selectors are semantic


def test_provenance_only_labels_disappear() -> None:
    obj = {"metadata": {"name": "x", "labels": {"helm.sh/chart": "c-1"}}}
    assert normalise(obj, ["provenance-labels"]) == {"metadata": {"name": "x"}}
    assert normalise(obj, []) == obj


def test_release_namespace_fills_missing_namespace_only() -> None:
    assert normalise({"metadata": {"name": "x"}}, ALL, "ns")["metadata"]["namespace"] == "ns"
    assert normalise({"metadata": {"name": "x", "namespace": "o"}}, ALL, "ns")["metadata"]["namespace"] == "o"
    assert "namespace" not in normalise({"metadata": {"name": "x"}}, ALL, None)["metadata"]
    assert "namespace" not in normalise({"metadata": {"name": "x"}}, without("release-namespace"), "ns")["metadata"]


def test_empty_values_equal_absent() -> None:
    obj = {"a": None, "b": {}, "c": [], "d": {"e": {"f": None}}, "g": [None, {}], "h": 0, "i": "", "j": False}
    assert normalise(obj, ["empty-values"]) == {"g": [None, {}], "h": 0, "i": "", "j": False}
    assert normalise(obj, []) == obj


def test_quantities_by_value_only_inside_resources() -> None:
    obj = pod(resources={"limits": {"cpu": "1000m", "memory": "1024Mi"}, "requests": {"cpu": 1}},
              env=[{"name": "N", "value": "1000m"}], args=["1Gi"])
    out = normalise(obj, ["quantities"])
    container = out["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"] == {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1"}}
    assert container["env"] == [{"name": "N", "value": "1000m"}]
    assert container["args"] == ["1Gi"]


def test_quantities_leave_lists_and_non_quantities_inside_resources() -> None:
    resources = {"claims": [{"name": "1000"}], "limits": {"vendor.com/thing": "many"}}
    out = normalise(pod(resources=resources), ["quantities"])
    assert out["spec"]["template"]["spec"]["containers"][0]["resources"] == resources


def test_type_differences_outside_resources_remain() -> None:
    helm = parse_manifest("kind: A\nmetadata: {name: a}\nspec: {port: 8200}\n")
    kustomize = parse_manifest("kind: A\nmetadata: {name: a}\nspec: {port: '8200'}\n")
    (obj,) = compare(helm, kustomize).objects
    assert [(d.path, d.helm, d.kustomize) for d in obj.differences] == [("/spec/port", 8200, "8200")]


def test_list_order_matters_unless_switched_off() -> None:
    helm = parse_manifest("kind: A\nmetadata: {name: a}\nargs: [--a, --b]\n")
    kustomize = parse_manifest("kind: A\nmetadata: {name: a}\nargs: [--b, --a]\n")
    assert not compare(helm, kustomize).equivalent
    assert compare(helm, kustomize, rules=without("ordered-lists")).equivalent


def test_missing_and_extra_objects() -> None:
    helm = parse_manifest("kind: A\nmetadata: {name: a}\n---\nkind: B\nmetadata: {name: b}\n")
    kustomize = parse_manifest("kind: A\nmetadata: {name: a}\n---\nkind: C\nmetadata: {name: c}\n")
    assert [(o.id, o.status.value) for o in compare(helm, kustomize).objects] == [
        ("A/a", "equal"), ("B/b", "missing"), ("C/c", "extra")]


@pytest.mark.parametrize(("parts", "pointer"), [
    (["spec", "replicas"], "/spec/replicas"),
    (["metadata", "labels", "helm.sh/chart"], "/metadata/labels/helm.sh~1chart"),
    (["a~b", 0], "/a~0b/0"),
])
def test_json_pointer(parts: list, pointer: str) -> None:
    assert json_pointer(parts) == pointer


def test_manifest_skips_comments_and_empty_documents_and_flattens_lists() -> None:
    text = "---\n# Source: x\n---\n\n---\nkind: List\nitems:\n- kind: A\n  metadata: {name: a}\n"
    assert list(parse_manifest(text)) == [("A", "a")]


@pytest.mark.parametrize("text", [
    "kind: A\nmetadata: {name: a}\n---\nkind: A\nmetadata: {name: a}\n",  # same object twice
    "kind: A\nkind: B\nmetadata: {name: a}\n",  # duplicate key
    "- just\n- a list\n",
    "metadata: {name: a}\n",  # no kind
])
def test_bad_manifests_name_the_source(text: str) -> None:
    with pytest.raises(InputError, match="^in.yaml: "):
        parse_manifest(text, source="in.yaml")
