"""Shared fixtures. The real tools are required: a session without them fails, it never skips."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from migrate import tools
from migrate.cache import CACHE_ENV, STATE_ENV
from migrate.cli import cli as cli_group
from migrate.errors import ToolError

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "llm-d-modelservice" / "v0.4.12"
DATA = Path(__file__).resolve().parent / "data"


def _require(find: Callable[[], tools.Tool]) -> str:
    try:
        return find().path
    except ToolError as exc:
        pytest.exit(f"the tests need the real tools: {exc}", returncode=3)


@pytest.fixture(scope="session")
def kustomize_bin() -> str:
    return _require(tools.find_kustomize)


@pytest.fixture(scope="session")
def helm_bin() -> str:
    return _require(tools.find_helm)


@pytest.fixture(scope="session", autouse=True)
def render_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A cache directory (and signing key) of this session's own, so that no earlier run's
    entries take part and nothing is written to the user's home."""
    directory = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV, str(directory))
        patch.setenv(STATE_ENV, str(tmp_path_factory.mktemp("state")))  # the cache's signing key
        yield directory


@pytest.fixture(scope="session", autouse=True)
def _real_tools(render_cache: Path, kustomize_bin: str, helm_bin: str) -> None:
    """Resolve both tools before any test runs, so that a missing one stops the session loudly."""


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


def fixture_cases() -> list[dict]:
    """The recorded Helm renders: name, release, namespace."""
    return yaml.safe_load((FIXTURES / "cases.yaml").read_text())["cases"]


def _runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)  # click < 8.2
    except TypeError:
        return CliRunner()  # click >= 8.2 keeps stderr apart


@pytest.fixture
def cli() -> Callable[..., Result]:
    """Run ``helm-to-kustomize ARGS...`` in-process; ``result.stdout`` and ``result.stderr`` are separate."""
    runner = _runner()

    def invoke(*args: object) -> Result:
        return runner.invoke(cli_group, [str(arg) for arg in args], catch_exceptions=False)

    return invoke
