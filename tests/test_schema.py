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
