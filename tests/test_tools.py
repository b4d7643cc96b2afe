"""Finding and running Kustomize and Helm: discovery order, version checks, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import FIXTURES
from migrate import tools
from migrate.errors import InputError, ToolError

MANIFEST = FIXTURES / "defaults" / "manifest.yaml"


def fake(directory: Path, name: str, version_output: str, build_output: str = "", fail: str = "") -> Path:
    """A tiny program that prints ``version_output`` for version probes, and builds or fails otherwise."""
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / name
    on_other = f"echo '{fail}' >&2; exit 1" if fail else f"printf '%s' '{build_output}'"
    script.write_text(
        "#!/bin/sh\n"
        f'echo probe >> "{directory}/probes.log"\n'
        f'case "$1" in version) printf "%s\\n" "{version_output}";; *) {on_other};; esac\n'
    )
    script.chmod(0o755)
    return script


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No env overrides, an empty .tools/bin and an empty PATH directory: the test fills them."""
    monkeypatch.delenv(tools.KUSTOMIZE_ENV, raising=False)
    monkeypatch.delenv(tools.HELM_ENV, raising=False)
    monkeypatch.setattr(tools, "LOCAL_TOOLS_DIR", tmp_path / "local")
    path_dir = tmp_path / "path"
    path_dir.mkdir()
    monkeypatch.setenv("PATH", str(path_dir))
    return path_dir


def _one_line(result, *needles: str) -> None:
    assert result.exit_code == 3, result.output
    assert result.stderr.startswith("helm-to-kustomize: error: ")
    assert result.stderr.count("\n") == 1
    for needle in needles:
        assert needle in result.stderr


# through the CLI: exit 3, one line naming the tool, the version found and how to get a good one


def test_missing_kustomize_option(cli, tmp_path: Path, data_dir: Path) -> None:
    result = cli("verify", data_dir / "tiny-overlay", "--manifest", MANIFEST, "--kustomize", tmp_path / "nope" / "kustomize")
    _one_line(result, "kustomize not found", "make tools")


def test_too_old_kustomize_option(cli, tmp_path: Path, data_dir: Path) -> None:
    old = fake(tmp_path / "bin", "kustomize", "v4.5.7")
    result = cli("verify", data_dir / "tiny-overlay", "--manifest", MANIFEST, "--kustomize", old)
    _one_line(result, "kustomize v4.5.7", "too old", ">= v5.0.0", "make tools")


def test_too_old_kubectl_from_env(
    cli, tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = fake(tmp_path / "bin", "kubectl", "Client Version: v1.25.3\nKustomize Version: v4.5.7")
    monkeypatch.setenv(tools.KUSTOMIZE_ENV, str(old))
    result = cli("verify", data_dir / "tiny-overlay", "--manifest", MANIFEST)
    _one_line(result, "kubectl v1.25.3", "Kustomize v4.5.7", "too old", "make tools")


def test_failing_kustomize_build(cli, tmp_path: Path) -> None:
    broken = fake(tmp_path / "bin", "kustomize", "v5.4.0", fail="Error: accumulating resources: boom")
    (tmp_path / "kustomization.yaml").write_text("resources: []\n")
    result = cli("verify", tmp_path, "--manifest", MANIFEST, "--kustomize", broken)
    _one_line(result, "failed (exit 1)", "Error: accumulating resources: boom")


def test_too_old_helm(cli, tmp_path: Path, data_dir: Path) -> None:
    old = fake(tmp_path / "bin", "helm", "v2.16.12+g47f0b88")
    result = cli("verify", data_dir / "tiny-overlay", "--chart", data_dir / "tiny-chart", "--helm", old)
    _one_line(result, "helm v2.16.12", "too old", "make tools")


def test_missing_helm_everywhere(cli, isolated: Path, data_dir: Path) -> None:
    result = cli("verify", data_dir / "tiny-overlay", "--chart", data_dir / "tiny-chart")
    _one_line(result, "helm not found", "PATH", "make tools")


def test_missing_kustomize_everywhere(cli, isolated: Path, data_dir: Path) -> None:
    result = cli("verify", data_dir / "tiny-overlay", "--manifest", MANIFEST)
    _one_line(result, "kustomize not found", "make tools")


# discovery order


def test_option_beats_env(isolated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chosen = fake(tmp_path / "a", "kustomize", "v5.1.0")
    monkeypatch.setenv(tools.KUSTOMIZE_ENV, str(fake(tmp_path / "b", "kustomize", "v5.2.0")))
    assert tools.find_kustomize(str(chosen)).path == str(chosen)
    assert tools.find_kustomize().version == "v5.2.0"


def test_local_tools_beat_path(isolated: Path, tmp_path: Path) -> None:
    fake(isolated, "kustomize", "v5.3.0")
    local = fake(tmp_path / "local", "kubectl", "Client Version: v1.33.9\nKustomize Version: v5.6.0")
    tool = tools.find_kustomize()
    assert (tool.path, tool.version) == (str(local), "v5.6.0")


def test_path_kustomize_beats_path_kubectl(isolated: Path) -> None:
    fake(isolated, "kubectl", "Client Version: v1.33.9\nKustomize Version: v5.6.0")
    kustomize = fake(isolated, "kustomize", "{Version:kustomize/v5.0.1 GitCommit:abc}")
    assert tools.find_kustomize().path == str(kustomize)


def test_old_path_kustomize_falls_back_to_kubectl(isolated: Path) -> None:
    fake(isolated, "kustomize", "{Version:kustomize/v4.5.7 GitCommit:abc}")
    kubectl = fake(isolated, "kubectl", "Client Version: v1.30.0\nKustomize Version: v5.0.4")
    assert tools.find_kustomize().path == str(kubectl)


def test_only_old_tools_report_the_old_version(isolated: Path) -> None:
    fake(isolated, "kustomize", "v3.8.7")
    with pytest.raises(ToolError, match="kustomize v3.8.7 .* too old"):
        tools.find_kustomize()


def test_kubectl_build_uses_kubectl_kustomize(isolated: Path, tmp_path: Path) -> None:
    built = "kind: ConfigMap\nmetadata: {name: built}\n"
    kubectl = fake(isolated, "kubectl", "Client Version: v1.30.0\nKustomize Version: v5.0.4", build_output=built)
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text("resources: []\n")
    assert tools.kustomize_build(overlay, str(kubectl)) == built


def test_version_probed_once_per_process(isolated: Path) -> None:
    fake(isolated, "kustomize", "v5.5.0")
    for _ in range(3):
        tools.find_kustomize()
    assert (isolated / "probes.log").read_text().count("probe") == 1


def test_run_reports_missing_program(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match="not found"):
        tools.run([str(tmp_path / "absent")])


def test_run_carries_command_and_output(tmp_path: Path) -> None:
    with pytest.raises(tools.CommandFailed) as caught:
        tools.run(["sh", "-c", "echo out; echo 'Error: bad' >&2; exit 7"])
    error = caught.value
    assert (error.returncode, error.stdout, error.stderr, error.exit_code) == (7, "out\n", "Error: bad\n", 3)
    assert error.cmd[0] == "sh"
    assert "Error: bad" in str(error)



def test_a_command_started_as_the_run_is_interrupted_is_stopped_not_waited_for(tmp_path, monkeypatch) -> None:
    """The signal comes while the command starts, after run() looked and before stop_all() can see
    the command: it is killed with its group, and run() raises as the signal does."""
    import signal
    import subprocess
    import time

    from test_faults import _ended, _wait_for

    pids = tmp_path / "pids"
    real = subprocess.Popen

    def started_then_interrupted(*args, **kwargs):
        proc = real(*args, **kwargs)
        while not pids.exists() or not pids.read_text().strip():
            time.sleep(0.01)
        monkeypatch.setattr(tools, "_stopping", signal.SIGINT)  # what tools.interrupt() does ...
        tools.stop_all()  # ... while the command is not yet known to it
        return proc

    monkeypatch.setattr(tools.subprocess, "Popen", started_then_interrupted)
    began = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        tools.run(["sh", "-c", f'sleep 60 & echo "$$ $!" > "{pids}"; wait'], timeout=60)
    assert time.monotonic() - began < 20
    for pid in map(int, pids.read_text().split()):
        assert _wait_for(lambda: _ended(pid), 10)


@pytest.mark.parametrize("wait", ["tools.as_completed", "concurrent.futures.as_completed"])
def test_the_main_thread_waiting_for_threads_handles_a_signal_another_thread_got(wait) -> None:
    """SIGINT handed to a worker thread (as the kernel may do with a process's signal) reaches the
    main thread's handler while it waits for the threads, within a step of the wait."""
    import subprocess
    import sys
    import time

    script = f"""
import signal, sys, threading, time
from concurrent.futures import ThreadPoolExecutor
import concurrent.futures
from migrate import tools
release = threading.Event()
pool = ThreadPoolExecutor(1)
future = pool.submit(lambda: release.wait(3))
time.sleep(0.2)
worker = next(t for t in threading.enumerate() if t is not threading.main_thread())
threading.Timer(0.3, lambda: signal.pthread_kill(worker.ident, signal.SIGINT)).start()
try:
    for _ in {wait}([future]):
        pass
    print("not interrupted")
except KeyboardInterrupt:
    print("interrupted")
release.set()
"""
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], cwd=Path(tools.__file__).parent.parent, capture_output=True,
                          text=True, timeout=60)
    took = time.monotonic() - began
    if wait == "tools.as_completed":
        assert done.stdout.strip() == "interrupted" and took < 2.5, (done.stdout, done.stderr, took)
    else:  # the reason for tools.as_completed: the handler waits until the thread is done
        assert took > 3, (done.stdout, done.stderr, took)


@pytest.mark.parametrize(("set_by_user", "seen"), [({}, "GOGC=400 GOMEMLIMIT="), ({"GOGC": "50"}, "GOGC=50 GOMEMLIMIT="),
                                                   ({"GOMEMLIMIT": "1GiB"}, "GOGC= GOMEMLIMIT=1GiB")],
                         ids=["default", "user-gogc", "user-memory-limit"])
def test_go_programs_collect_garbage_less_unless_the_user_says(monkeypatch, set_by_user, seen) -> None:
    monkeypatch.delenv("GOGC", raising=False)
    monkeypatch.delenv("GOMEMLIMIT", raising=False)
    monkeypatch.setenv("HELM_TO_KUSTOMIZE_SEEN", "kept")
    for name, value in set_by_user.items():
        monkeypatch.setenv(name, value)
    out = tools.run(["sh", "-c", 'echo "GOGC=$GOGC GOMEMLIMIT=$GOMEMLIMIT $HELM_TO_KUSTOMIZE_SEEN"'])
    assert out == f"{seen} kept\n"

# the real tools


def test_real_kustomize_is_new_enough(kustomize_bin: str) -> None:
    assert tools.find_kustomize(kustomize_bin).version >= "v5"


def test_real_helm_is_new_enough(helm_bin: str) -> None:
    major = int(tools.find_helm(helm_bin).version.lstrip("v").split(".")[0])
    assert major >= 3


def test_real_kustomize_build(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources:\n- manifest.yaml\n")
    (tmp_path / "manifest.yaml").write_text(MANIFEST.read_text())
    assert "kind: ServiceAccount" in tools.kustomize_build(tmp_path)


def test_build_of_missing_overlay_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="overlay directory not found"):
        tools.kustomize_build(tmp_path / "absent")


def test_version_fast_path_prints_what_click_prints(cli):
    """`--version` alone is answered before click loads; it must say what the click group says."""
    import subprocess
    import sys

    fast = subprocess.run([sys.executable, "-m", "migrate", "--version"], capture_output=True, text=True, check=True)
    assert fast.stdout == cli("--version").stdout
    helped = subprocess.run([sys.executable, "-m", "migrate", "--help"], capture_output=True, text=True, check=True)
    assert "Usage: helm-to-kustomize" in helped.stdout  # anything else goes to click
