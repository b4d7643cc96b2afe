"""Smaller points of issue 11 (item 8), through the CLI: a wrong --chart path is exit 2; no
message quotes a temporary file that is gone; outside a checkout the hint for missing tools
names `python -m migrate.provision`; --help shows the batch description whole, lists the
chart versions and has no reST backticks; `verify: NOT equivalent` is coloured on a terminal."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT
from migrate import cli as cli_module
from migrate import tools
from migrate.resources import supported_chart_versions

CASE = FIXTURES / "single-node-nvidia"
COMMANDS = ((), ("migrate",), ("verify",), ("batch",))


def _one_line(result, code: int) -> str:
    assert result.exit_code == code, result.output
    assert result.stderr.startswith("helm-to-kustomize: error: ") and result.stderr.count("\n") == 1
    return result.stderr


def test_a_wrong_chart_path_is_bad_input_for_verify_and_migrate(cli, tmp_path: Path) -> None:
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text("resources: []\n")
    for result in (cli("verify", overlay, "--chart", tmp_path / "no-such-chart"),
                   cli("verify", overlay, "--chart", "./charts/missing", "--values", CASE / "values.yaml"),
                   cli(CASE / "values.yaml", "-o", tmp_path / "out", "--chart", tmp_path / "no-such-chart")):
        assert "chart not found" in _one_line(result, 2)
    assert not (tmp_path / "out").exists()


@pytest.fixture
def failing_chart(tmp_path: Path) -> Path:
    """A chart Helm refuses to render, whatever the values."""
    chart = tmp_path / "failing"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: llm-d-modelservice\nversion: 0.4.12\n")
    (chart / "templates" / "x.yaml").write_text('{{ fail "this chart refuses" }}\n')
    return chart


def test_helm_failures_name_the_users_values_file_not_a_gone_copy(cli, tmp_path: Path, failing_chart: Path
                                                                  ) -> None:
    values = tmp_path / "values.yaml"
    shutil.copy(CASE / "values.yaml", values)
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text("resources: []\n")
    for result in (cli("verify", overlay, "--chart", failing_chart, "--values", values),
                   cli(values, "-o", tmp_path / "out", "--chart", failing_chart)):
        message = _one_line(result, 3)
        assert "this chart refuses" in message
        assert f"--values {values}" in message
        assert "h2k-values-" not in message
        for quoted in re.findall(r"--values ([^\s`]+)", message):
            assert Path(quoted).exists(), message


def test_outside_a_checkout_the_tools_hint_names_the_provision_module(tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(ROOT / "migrate", site / "migrate", ignore=shutil.ignore_patterns("__pycache__"))
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELM_TO_KUSTOMIZE_")}
    env.update(PYTHONPATH=str(site), PATH=str(Path(sys.executable).parent) + os.pathsep + "/usr/bin:/bin",
               HELM_TO_KUSTOMIZE_CACHE="off")
    done = subprocess.run([sys.executable, "-m", "migrate", "verify", str(ROOT / "tests" / "data" / "tiny-overlay"),
                           "--chart", str(ROOT / "tests" / "data" / "tiny-chart"), "--kustomize",
                           tools.find_kustomize().path], cwd=work, env=env, capture_output=True, text=True)
    assert done.returncode == 3, done.stderr
    assert "helm not found" in done.stderr
    assert "python -m migrate.provision" in done.stderr and "make tools" not in done.stderr
    assert "make tools" in tools.HOW_TO_GET  # in this checkout


def test_top_level_help_shows_every_command_description_whole(cli) -> None:
    text = cli("--help").stdout
    commands = text.split("Commands:", 1)[1]
    flat = " ".join(commands.split())
    assert "batch Migrate every values file in VALUES_DIR to an overlay in OUTPUT/<name>." in flat
    assert "verify Check that the Kustomize overlay DIR renders the same objects as Helm." in flat
    assert "..." not in commands


def _flat_help(cli, *command: str) -> str:
    result = cli(*command, "--help")
    assert result.exit_code == 0
    return " ".join(result.stdout.split())


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "top")
def test_help_has_no_rest_backticks(cli, command: tuple[str, ...]) -> None:
    assert "`" not in cli(*command, "--help").stdout


@pytest.mark.parametrize("args", [("migrate", "--chart-version", "--help"), ("--chart-version", "--help"),
                                  ("values.yaml", "-o", "out", "--chart-version", "--help"), ("migrate", "--help")])
def test_chart_version_help_lists_the_supported_versions(cli, args: tuple[str, ...]) -> None:
    result = cli(*args)
    assert (result.exit_code, result.stderr) == (0, ""), result.output
    flat = " ".join(result.stdout.split()).replace("– ", "–")
    assert "v0.2.0–v0.2.1, v0.2.3–v0.2.16, v0.3.0–v0.3.18, v0.4.0–v0.4.12" in flat
    assert f"({len(supported_chart_versions())} releases)" in flat


def test_verify_not_equivalent_is_coloured_on_a_terminal(cli, tmp_path: Path, monkeypatch) -> None:
    """A render the overlay cannot reproduce: Helm prints 1.234567e+06, Kustomize an integer."""
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text((CASE / "manifest.yaml").read_text().replace(
        "      serviceAccountName: single-llm-d-modelservice",
        "      terminationGracePeriodSeconds: 1.234567e+06\n      serviceAccountName: single-llm-d-modelservice"))
    args = (CASE / "values.yaml", "--namespace", "llm-d", "--verify-against", manifest)
    plain = cli(*args, "-o", tmp_path / "plain")
    assert plain.exit_code == 1
    assert "\nverify: NOT equivalent to the Helm render\n" in plain.stdout and "\033[" not in plain.stdout
    monkeypatch.setattr(cli_module, "_color", lambda: True)
    coloured = cli(*args, "-o", tmp_path / "coloured")
    assert coloured.exit_code == 1
    assert "\033[31mverify: NOT equivalent to the Helm render\033[0m" in coloured.stdout
    assert "\033[31mNot equivalent: 2 objects" in coloured.stdout


def test_verify_equivalent_is_green_on_a_terminal(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(cli_module, "_color", lambda: True)
    result = cli(CASE / "values.yaml", "-o", tmp_path / "single", "--namespace", "llm-d",
                 "--verify-against", CASE / "manifest.yaml")
    assert result.exit_code == 0
    assert "\033[32mverify: equivalent to the Helm render\033[0m" in result.stdout


def test_the_command_header_records_every_option_that_shaped_the_overlay(cli, tmp_path: Path) -> None:
    out = tmp_path / "single"
    result = cli(CASE / "values.yaml", "-o", out, "--release", "single", "--namespace", "llm-d",
                 "--chart-version", "v0.4.12", "--verify-against", CASE / "manifest.yaml", "--allow-unmapped",
                 "--format", "json", "--timeout", "100")
    assert result.exit_code == 0, result.stderr
    header = next(line for line in (out / "kustomization.yaml").read_text().splitlines()
                  if line.startswith("# Command:"))
    for option in ("--release single", "--namespace llm-d", "--chart-version v0.4.12",
                   f"--verify-against {CASE / 'manifest.yaml'}", "--allow-unmapped"):
        assert option in header
