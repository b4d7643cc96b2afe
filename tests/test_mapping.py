"""The mapping table: valid, complete for the chart's keys, and evaluated as written."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
import yaml

from migrate.mapping import holds, leaves, load_table
from migrate.plan import account
from migrate.resources import chart_defaults_path


@pytest.fixture(scope="module")
def table():
    return load_table("v0.4.12")


@pytest.fixture(scope="module")
def defaults():
    return yaml.safe_load(chart_defaults_path("v0.4.12").read_text())


@pytest.mark.parametrize(
    "leaf, entry",
    [
        ("modelArtifacts.name", "model-name"),
        ("decode.replicas", "replicas"),
        ("prefill.containers[0].env[2].value", "containers"),
        ("routing.proxy.zapDevel", "routing-proxy-settings"),
        ("accelerator.resources.nvidia", "accelerator-resources"),
        ("decode.monitoring.podmonitor.enabled", "monitoring"),
        ("decode.monitoring.podmonitor.path", "monitoring-settings"),
        ("enabled", "unread"),
        ("decode.subGroupExclusiveToplogy", "unread"),
        ("extraObjects[0].kind", "extra-objects"),
    ],
)
def test_entry_for(table, leaf, entry):
    assert table.entry_for(leaf).id == entry


@pytest.mark.parametrize("leaf", ["decode.nonsense", "nonsense", "modelArtifacts.nonsense", "decodex.replicas"])
def test_unknown_paths_have_no_entry(table, leaf):
    assert table.entry_for(leaf) is None


def test_every_chart_default_is_mapped(table, defaults):
    missing = [path for path, _ in leaves(defaults) if table.entry_for(path) is None]
    assert missing == []


def test_accounting_classifies_each_leaf(table, defaults):
    user = {"decode": {"replicas": 1, "create": True, "bogus": 3}, "modelArtifacts": {"name": "org/m"}}
    got = {leaf.path: (leaf.status, leaf.entry) for leaf in account(table, user, defaults)}
    assert got == {
        "decode.replicas": ("default", None),
        "decode.create": ("default", None),
        "decode.bogus": ("unmapped", None),
        "modelArtifacts.name": ("mapped", "model-name"),
    }


@pytest.mark.parametrize(
    "values, components",
    [
        ({}, ["routing-proxy", "model-config"]),
        ({"multinode": True}, ["multinode", "routing-proxy", "model-config"]),
        ({"routing": {"proxy": {"enabled": False}}}, ["model-config"]),
        ({"routing": {"proxy": {}}}, ["routing-proxy", "model-config"]),
        ({"prefill": {"create": True, "replicas": 2}}, ["routing-proxy", "prefill-disaggregation", "model-config"]),
        ({"requester": {"enable": True}}, ["routing-proxy", "requester", "model-config"]),
        ({"decode": {"create": True, "monitoring": {"podmonitor": {"enabled": True}}}},
         ["routing-proxy", "monitoring", "model-config"]),
        ({"accelerator": {"dra": True}}, ["routing-proxy", "dra", "model-config"]),
        ({"accelerator": {"dra": True, "type": "intel-xe"}}, ["routing-proxy", "dra/intel-xe", "model-config"]),
        ({"prefill": {"create": False}}, ["routing-proxy", "decode-only", "model-config"]),
    ],
)
def test_components_follow_values(table, values, components):
    values = {"decode": {"create": True}, "prefill": {"create": True}, **values}
    assert table.chosen_components(values) == components


@pytest.mark.parametrize(
    "condition, expected",
    [
        ({"truthy": "a"}, True),
        ({"falsy": "b"}, True),
        ({"equals": ["a", 1]}, True),
        ({"equals": ["a", True]}, False),
        ({"not_equals": ["missing", False]}, True),
        ({"all": [{"truthy": "a"}, {"truthy": "b"}]}, False),
        ({"any": [{"truthy": "a"}, {"truthy": "b"}]}, True),
    ],
)
def test_conditions(condition, expected):
    assert holds(condition, {"a": 1, "b": ""}) is expected


_SEGMENTS = st.sampled_from(["decode", "prefill", "containers", "env", "a", "ab", "[0]", "[*]", "x.y"])


@settings(max_examples=400, deadline=None)
@given(pattern=st.lists(st.sampled_from(["decode", "containers", "env", "a", "*", "[*]"]), min_size=1, max_size=4),
       path=st.lists(_SEGMENTS, min_size=1, max_size=6))
def test_path_pattern_matches_as_its_regex_does(pattern, path):
    from migrate.mapping import PathPattern, _compile

    def joined(parts: list[str]) -> str:
        return "".join(p if p.startswith("[") or i == 0 else "." + p for i, p in enumerate(parts))

    text, leaf = joined(pattern), joined(path)
    assert PathPattern(text).match(leaf) == (_compile(text).match(leaf) is not None)



@pytest.fixture
def own_tables(tmp_path, monkeypatch):
    """A copy of the shipped tables the test may change, read through a cache of its own."""
    import shutil

    from migrate import cache, mapping, resources

    root = tmp_path / "data"
    shutil.copytree(resources.data_dir("mappings"), root / "mappings")
    shutil.copytree(resources.data_dir("schemas"), root / "schemas")
    monkeypatch.setattr(mapping, "data_dir", lambda name: root / name)
    monkeypatch.setenv("HELM_TO_KUSTOMIZE_CACHE", str(tmp_path / "cache"))

    def forget() -> None:  # as a new process starts: nothing kept in memory
        mapping.load_table.cache_clear()
        mapping.resolved.cache_clear()
        cache.tree_digest.cache_clear()

    def fresh(version: str):
        forget()
        return load_table(version)

    yield root / "mappings" / "llm-d-modelservice", fresh
    forget()


def test_a_table_kept_in_the_cache_is_the_table_its_files_give(own_tables, tmp_path):
    from migrate import mapping

    tables, fresh = own_tables
    first = fresh("v0.3.0")
    assert list((tmp_path / "cache" / "tables").iterdir())
    kept = fresh("v0.3.0")
    assert kept == first
    mapping.resolved.cache_clear()
    assert mapping.resolved("v0.3.0") == mapping._remembered("v0.3.0")
    # a change in a table the version extends is seen at once
    base = tables / "v0.2.0" / "mapping.yaml"
    base.write_text(base.read_text().replace("default: nvidia", "default: amd", 1))
    assert first.accelerator_default == "nvidia"
    assert fresh("v0.3.0").accelerator_default == "amd"


def test_a_broken_table_is_refused_though_the_cache_holds_it_whole(own_tables):
    from migrate.errors import InputError

    tables, fresh = own_tables
    fresh("v0.4.12")
    own = tables / "v0.4.12" / "mapping.yaml"
    own.write_text(own.read_text() + "\nunknown_key: 1\n")
    with pytest.raises(InputError) as refused:
        fresh("v0.4.12")
    assert refused.value.file == str(own) and "invalid mapping table" in str(refused.value)
