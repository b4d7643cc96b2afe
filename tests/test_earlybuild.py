"""A migration in a new process starts Kustomize first; its build is the direct build."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT
from test_faults import _ended, _wait_for
from migrate import earlybuild, tools
from migrate.cli import cli as cli_group
from migrate.errors import ToolError

pytestmark = pytest.mark.skipif(not earlybuild.supported(), reason="early builds are Linux only")

EXAMPLES = ROOT / "kustomize" / "overlays" / "examples"
CONSOLE = "import sys; from migrate.__main__ import main; sys.argv[0] = 'helm-to-kustomize'; main()"


def _prefix() -> tuple[str, ...]:
    tool = tools.find_kustomize()
    return tools.kustomize_prefix(tool.path)



@pytest.fixture(autouse=True)
def _nothing_pending():
    yield
    earlybuild.discard()


@pytest.mark.parametrize("example", ["single-node-nvidia", "pd-disaggregation", "multinode-monitoring"])
def test_an_early_build_prints_what_the_direct_build_prints(example):
    overlay = EXAMPLES / example
    early = earlybuild.Early(_prefix())
    time.sleep(0.2)  # Kustomize has started and waits on the FIFO
    text = early.build(overlay, [*_prefix(), str(overlay)])
    assert text is not None
    assert text == tools.run([*_prefix(), str(overlay)])
    assert not Path(early.root).exists()
    assert early.proc.returncode == 0


def test_a_directory_named_like_yaml_syntax_is_built_as_named(tmp_path):
    odd = tmp_path / "a #b: c" / "overlay"
    odd.mkdir(parents=True)
    (odd / "kustomization.yaml").write_text("configMapGenerator:\n- name: odd\n  literals: [a=b]\n")
    early = earlybuild.Early(_prefix())
    text = early.build(odd, [*_prefix(), str(odd)])
    assert text is not None and "name: odd-" in text


def test_a_build_that_fails_early_is_run_again_and_reports_the_direct_error(tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "kustomization.yaml").write_text("resources:\n- missing.yaml\n")
    earlybuild._pending = earlybuild.Early(_prefix())
    with pytest.raises(ToolError) as err:
        tools.kustomize_build(broken)
    assert str(broken) in str(err.value)
    assert "helm-to-kustomize-build-" not in str(err.value)
    assert earlybuild._pending is None  # taken


def test_an_overlay_that_sets_sort_options_is_built_directly(tmp_path):
    overlay = tmp_path / "sorted"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        "resources:\n- cm.yaml\nsortOptions:\n  order: fifo\n")
    (overlay / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n")
    early = earlybuild.Early(_prefix())
    earlybuild._pending = early
    assert "name: a" in tools.kustomize_build(overlay)
    assert earlybuild._pending is early  # left for a build it can stand for


def test_an_early_build_of_another_program_is_stopped():
    early = earlybuild.Early(_prefix())
    earlybuild._pending = early
    assert earlybuild.take(("/usr/bin/kustomize", "build")) is None
    assert early.proc.returncode is not None
    assert not Path(early.root).exists()


def test_only_a_migration_starts_early():
    assert earlybuild._builds_early(["values.yaml", "-o", "out"])
    assert earlybuild._builds_early(["migrate", "values.yaml", "-o", "out"])
    for argv in (["verify", "overlay"], ["batch", "dir", "-o", "out"], ["--help"], ["values.yaml", "--help"], [],
                 ["--debug", "values.yaml"]):
        assert not earlybuild._builds_early(argv), argv
    assert earlybuild._option(["a", "--kustomize", "k1", "--kustomize=k2"], "--kustomize") == "k2"


def test_the_commands_are_those_of_the_command_line():
    assert set(earlybuild.COMMANDS) == set(cli_group.commands)


@pytest.mark.parametrize("delay", [0, 0.3], ids=["before-kustomize-opens-the-fifo", "after"])
def test_a_process_that_dies_before_it_builds_leaves_no_kustomize_behind(tmp_path, delay):
    script = ("import os, sys, time; from migrate import earlybuild; earlybuild.start(sys.argv[1:]); "
              f"print(earlybuild._pending.proc.pid, flush=True); time.sleep({delay}); os._exit(9)")
    done = subprocess.run([sys.executable, "-c", script, "values.yaml", "-o", str(tmp_path / "out")], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 9, done.stderr
    pid = done.stdout.strip()
    assert _wait_for(lambda: _ended(int(pid)), 10)


def _migrate_in_new_process(tmp_path: Path, *extra: object) -> tuple[subprocess.CompletedProcess, bool]:
    """Run a migration as a new process with TMPDIR in ``tmp_path``; whether an early build's
    root appeared there while it ran."""
    case = FIXTURES / "example-pd-disaggregation"
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-c", CONSOLE, case / "values.yaml", "-o", tmp_path / "pd", "--release",
                             "pd", "--namespace", "default", "--verify-against", case / "manifest.yaml", *extra],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    seen = False
    while proc.poll() is None:
        seen = seen or any(p.name.startswith("helm-to-kustomize-build-") for p in tmp_path.iterdir())
        time.sleep(0.002)
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), seen


def test_a_migration_in_a_new_process_starts_kustomize_early_and_leaves_nothing(tmp_path):
    done, seen = _migrate_in_new_process(tmp_path)
    assert done.returncode == 0, done.stderr
    assert "verify: equivalent to the Helm render" in done.stdout
    assert seen
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("helm-to-kustomize-build-")]


def test_a_program_not_yet_checked_is_not_started_early(tmp_path):
    """A script (its version probe is never kept) gets no build arguments before its version is
    checked: every run of it is a probe or a build of the overlay, none of an early root."""
    real = tools.find_kustomize().path
    log = tmp_path / "runs.log"
    wrapper = tmp_path / ("kubectl-logged" if tools._is_kubectl(real) else "kustomize-logged")
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> {log}\nexec {real} "$@"\n')
    wrapper.chmod(0o755)
    done, seen = _migrate_in_new_process(tmp_path, "--kustomize", wrapper)
    assert done.returncode == 0, done.stderr
    assert not seen
    runs = [line.split() for line in log.read_text().splitlines()]
    assert runs and all(run[0] == "version" or "helm-to-kustomize-build-" not in run[-1] for run in runs)


def test_the_program_started_early_is_one_whose_probe_is_kept(tmp_path, monkeypatch):
    real = tools.find_kustomize().path
    assert tools.kustomize_prefix(real) == _prefix()
    monkeypatch.setenv("HELM_TO_KUSTOMIZE_CACHE", str(tmp_path / "empty"))  # never probed here
    assert tools.kustomize_prefix(real) is None
    script = ROOT / "tests" / "data" / "fake-tools" / "kustomize"
    assert tools.kustomize_prefix(str(script)) is None
    with pytest.raises(ToolError, match="not found"):
        tools.kustomize_prefix(str(tmp_path / "missing"))


def test_a_failed_migration_stops_the_early_kustomize(tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", CONSOLE, tmp_path / "missing.yaml", "-o", tmp_path / "out"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 2
    assert done.stderr.startswith("helm-to-kustomize: error: ") and "missing.yaml" in done.stderr
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("helm-to-kustomize-build-")]


# --- the end of the process ------------------------------------------------------------------

_EXIT_SCRIPT = """
import atexit, sys, threading, time
from migrate.__main__ import _exit
atexit.register(lambda: print("exit handler ran"))
sys.stdout.write("x" * 200_000 + "\\n")
if sys.argv[1] == "thread":
    threading.Thread(target=lambda: (time.sleep(0.3), print("thread finished"))).start()
_exit(SystemExit(int(sys.argv[2]) if sys.argv[2].isdigit() else sys.argv[2]))
"""


@pytest.mark.parametrize("code", ["0", "3", "a message"])
def test_the_fast_exit_flushes_runs_the_exit_handlers_and_keeps_the_code(code):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    done = subprocess.run([sys.executable, "-c", _EXIT_SCRIPT, "plain", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env=env)
    assert done.stdout == "x" * 200_000 + "\nexit handler ran\n"
    assert done.returncode == (int(code) if code.isdigit() else 1)
    assert done.stderr == ("" if code.isdigit() else "a message\n")


def test_a_thread_still_running_gets_the_ordinary_exit():
    done = subprocess.run([sys.executable, "-c", _EXIT_SCRIPT, "thread", "4"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 4
    assert done.stdout.endswith("thread finished\nexit handler ran\n")


def test_a_forked_child_does_not_keep_the_fifo_open():
    """A process forked after the start (and not exec'd) closes the parent's FIFO: were it to
    keep a writer open, Kustomize would wait for the end of the file until that child exits."""
    overlay = EXAMPLES / "single-node-nvidia"
    early = earlybuild.Early(_prefix())
    child = os.fork()
    if child == 0:  # pragma: no cover - the child
        time.sleep(30)
        os._exit(0)
    try:
        with tools.timeout_set(10):
            assert early.build(overlay, [*_prefix(), str(overlay)]) == tools.run([*_prefix(), str(overlay)])
    finally:
        os.kill(child, 9)
        os.waitpid(child, 0)
