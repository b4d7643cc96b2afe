"""Values are validated against the schema of their own chart version, as Helm does."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT
from migrate import values as values_module
from migrate.errors import InputError
from migrate.resources import supported_chart_versions

VERSIONS = supported_chart_versions()


@pytest.mark.parametrize("version", VERSIONS)
def test_every_version_accepts_its_own_defaults(version):
    values_module.validate(values_module.load_defaults(version), version)


def test_versions_before_v0_2_8_have_no_schema_and_accept_anything():
    for version in ("v0.2.0", "v0.2.7"):
        assert values_module._validator(version) is None
        values_module.validate({"anything": {"at": "all"}}, version)


def test_a_key_the_schema_refuses_is_named_with_the_file():
    effective = values_module.merge_defaults(values_module.load_defaults("v0.4.12"), {"decode": {"replicas": "x"}})
    with pytest.raises(InputError) as err:
        values_module.validate(effective, "v0.4.12", "values.yaml")
    assert str(err.value).startswith("values.yaml: decode.replicas: ")
    assert "schema" in str(err.value)


def test_the_schema_is_read_once():
    assert values_module._validator("v0.4.12") is values_module._validator("v0.4.12")


def test_every_schema_shipped_is_a_chart_version():
    shipped = sorted(p.name for p in (ROOT / "schemas" / "llm-d-modelservice").iterdir() if p.is_dir())
    assert set(shipped) <= set(VERSIONS)
    assert "v0.2.8" in shipped and "v0.2.7" not in shipped


# --- the quick check (fastjsonschema) never passes what jsonschema refuses ---------------------

import copy  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from migrate import cache  # noqa: E402
from migrate.yamlio import YamlError, load_helm  # noqa: E402

FIXTURE_ROOT = ROOT / "fixtures" / "llm-d-modelservice"
SCHEMA_VERSIONS = [v for v in VERSIONS if values_module.resources.chart_schema_path(v).is_file()]


def _effective(version: str, case: Path) -> dict | None:
    try:
        user = load_helm((case / "values.yaml").read_text(encoding="utf-8")) or {}
    except YamlError:  # a case of values that do not parse
        return None
    return values_module.merge_defaults(values_module.load_defaults(version), user)


def _verdicts(values: dict, version: str) -> tuple[bool, bool]:
    quick = values_module._quick(version)
    assert quick is not None, "the quick check must be compiled for every shipped schema"
    return quick(copy.deepcopy(values)), values_module._validator(version).is_valid(values)


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
def test_the_quick_check_agrees_with_jsonschema_on_every_fixture(version):
    cases = sorted(p for p in (FIXTURE_ROOT / version).iterdir() if (p / "values.yaml").is_file())
    assert cases
    effective = {case.name: _effective(version, case) for case in cases}
    verdicts = {name: _verdicts(values, version) for name, values in effective.items() if values is not None}
    assert {name: v for name, v in verdicts.items() if v[0] != v[1]} == {}
    assert any(quick for quick, _ in verdicts.values())


def test_the_quick_check_leaves_the_values_as_they_are():
    effective = values_module.merge_defaults(values_module.load_defaults("v0.4.12"), {})
    before = copy.deepcopy(effective)
    assert values_module._quick("v0.4.12")(effective)
    assert effective == before  # no default filled in


def _leaves(node: object, path: tuple = ()) -> list[tuple]:
    if isinstance(node, dict):
        return [p for key, value in node.items() for p in _leaves(value, (*path, key))] + [path]
    if isinstance(node, list):
        return [p for i, value in enumerate(node) for p in _leaves(value, (*path, i))] + [path]
    return [path]


_DEFAULTS = values_module.merge_defaults(values_module.load_defaults("v0.4.12"), {})
_PATHS = [p for p in _leaves(_DEFAULTS) if p]
_ODD = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=False, allow_infinity=False),
                 st.sampled_from(["", "x", "1", "true", "nvidia", "hf://a/b"]), st.just([]), st.just({}),
                 st.just([{"name": "x"}]), st.just({"unknownKey": 1}))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.lists(st.tuples(st.sampled_from(_PATHS), _ODD), min_size=1, max_size=3))
def test_values_the_quick_check_passes_are_valid_for_jsonschema(changes):
    values = copy.deepcopy(_DEFAULTS)
    for path, value in changes:
        node = values
        try:
            for step in path[:-1]:
                node = node[step]
            node[path[-1]] = value
        except (KeyError, IndexError, TypeError):  # an earlier change replaced a parent
            continue
    quick, full = _verdicts(values, "v0.4.12")
    assert full or not quick, f"fastjsonschema passes values jsonschema refuses: {changes}"


def test_the_compiled_check_is_kept_and_a_damaged_entry_is_made_again(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    values_module._quick.cache_clear()
    try:
        assert values_module._quick("v0.4.12") is not None
        entries = list((tmp_path / values_module.QUICK_SECTION).iterdir())
        assert len(entries) == 1
        values_module._quick.cache_clear()
        assert values_module._quick("v0.4.12")({"decode": {"replicas": "x"}}) is False  # read back: a check
        entries[0].write_bytes(entries[0].read_bytes()[:-10])  # cut short
        values_module._quick.cache_clear()
        check = values_module._quick("v0.4.12")
        assert check is not None and check(copy.deepcopy(_DEFAULTS))
        assert cache.read_bytes(values_module.QUICK_SECTION, entries[0].name) is not None
    finally:
        values_module._quick.cache_clear()


def test_without_a_cache_jsonschema_alone_decides(monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, "off")
    values_module._quick.cache_clear()
    try:
        assert values_module._quick("v0.4.12") is None
        effective = values_module.merge_defaults(values_module.load_defaults("v0.4.12"), {"decode": {"replicas": "x"}})
        with pytest.raises(InputError, match="decode.replicas"):
            values_module.validate(effective, "v0.4.12", "values.yaml")
    finally:
        values_module._quick.cache_clear()


def _fresh_quick(monkeypatch, cache_dir: Path, state: Path) -> None:
    monkeypatch.setenv(cache.CACHE_ENV, str(cache_dir))
    monkeypatch.setenv(cache.STATE_ENV, str(state))
    cache.signing_key.cache_clear()
    values_module._quick.cache_clear()


def test_a_compiled_check_signed_with_another_key_is_not_run(tmp_path, monkeypatch):
    """A cache restored from elsewhere (another user's, another CI runner's) holds code signed
    with another key: it is removed and compiled again, never run."""
    try:
        _fresh_quick(monkeypatch, tmp_path / "cache", tmp_path / "state-a")
        assert values_module._quick("v0.4.12") is not None
        entry = next((tmp_path / "cache" / values_module.QUICK_SECTION).iterdir())
        signed_by_a = entry.read_bytes()
        _fresh_quick(monkeypatch, tmp_path / "cache", tmp_path / "state-b")
        assert cache.read_signed(values_module.QUICK_SECTION, entry.name) is None  # not B's: removed
        assert not entry.exists()
        assert values_module._quick("v0.4.12") is not None  # compiled again, signed by B
        assert entry.read_bytes() != signed_by_a
        assert cache.read_signed(values_module.QUICK_SECTION, entry.name) is not None
    finally:
        cache.signing_key.cache_clear()
        values_module._quick.cache_clear()


def test_a_key_others_can_read_is_not_used(tmp_path, monkeypatch):
    try:
        _fresh_quick(monkeypatch, tmp_path / "cache", tmp_path / "state")
        assert cache.signing_key() is not None
        key = tmp_path / "state" / "helm-to-kustomize" / "cache.key"
        assert key.stat().st_mode & 0o777 == 0o600
        key.chmod(0o644)
        _fresh_quick(monkeypatch, tmp_path / "cache", tmp_path / "state")
        assert cache.signing_key() is None
        assert values_module._quick("v0.4.12") is None  # jsonschema alone
        effective = values_module.merge_defaults(values_module.load_defaults("v0.4.12"), {"decode": {"replicas": "x"}})
        with pytest.raises(InputError, match="decode.replicas"):
            values_module.validate(effective, "v0.4.12", "values.yaml")
    finally:
        cache.signing_key.cache_clear()
        values_module._quick.cache_clear()


def test_only_draft_07_schemas_with_local_references_are_compiled():
    assert values_module._compilable({"$schema": "http://json-schema.org/draft-07/schema#",
                                      "properties": {"a": {"$ref": "#/definitions/x"}}})
    assert not values_module._compilable({"$schema": "https://json-schema.org/draft/2020-12/schema"})
    assert not values_module._compilable({"properties": {}})
    assert not values_module._compilable({"$schema": "http://json-schema.org/draft-07/schema#",
                                          "items": [{"$ref": "https://example.com/s.json"}]})
