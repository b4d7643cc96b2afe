"""Faults and hostile input (issue 12): bounded, exclusive, truthful.

Each class through the CLI. Where a real tool cannot misbehave on purpose, the fake tools of
``tests/data/fake-tools`` do (``FAKE_MODE`` says how). The contract of every refusal is the
one of test_bad_input: the documented exit code, one line on stderr, no traceback, nothing
written or changed. Fault tests stay fast: ``--timeout 1``, no long sleeps.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import DATA, FIXTURES, ROOT
from migrate import cache, tools
from migrate import overlay as overlay_module
from migrate.cache import CACHE_ENV
from test_bad_input import PREFIX, VALID, refused, snapshot, write_values

FAKES = DATA / "fake-tools"
FAKE_KUSTOMIZE = FAKES / "kustomize"
FAKE_HELM = FAKES / "helm"
BARRIER_KUBECTL = FAKES / "kubectl"
MANIFEST = FIXTURES / "defaults" / "manifest.yaml"
CONSOLE = "import sys; from migrate.__main__ import main; sys.argv[0] = 'helm-to-kustomize'; main()"


@pytest.fixture(autouse=True)
def _fresh_tool_probes():
    tools.clear_cache()
    yield
    tools.clear_cache()


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """The directory a run may touch (snapshotted); the fakes' logs go beside it."""
    path = tmp_path / "run"
    path.mkdir()
    return path


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Set the fake tools' mode; returns the logs: (one line per build started, grandchild pids)."""
    log, pids = tmp_path / "builds.log", tmp_path / "pids.log"
    monkeypatch.setenv("FAKE_LOG", str(log))
    monkeypatch.setenv("FAKE_PIDS", str(pids))

    def mode(name: str) -> tuple[Path, Path]:
        monkeypatch.setenv("FAKE_MODE", name)
        return log, pids

    return mode


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _ended(pid: int) -> bool:
    """Gone, or a zombie waiting for a parent (in a container, PID 1 may never reap it)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return "State:\tZ" in status


def _all_ended(pids: Path) -> bool:
    numbers = [int(n) for line in _lines(pids) for n in line.split()]
    deadline = time.monotonic() + 5
    while not all(_ended(n) for n in numbers) and time.monotonic() < deadline:
        time.sleep(0.05)
    return bool(numbers) and all(_ended(n) for n in numbers)


def _real_kubectl(kustomize_bin: str) -> str:
    return kustomize_bin if Path(kustomize_bin).name.startswith("kubectl") else pytest.skip("needs kubectl")


def _console(*args: object, env: dict | None = None, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CONSOLE, *map(str, args)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})}, **kwargs)


def _one_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line]  # click echoes ^C's newline first
    assert len(lines) == 1 and lines[0].startswith(PREFIX) and "Traceback" not in stderr, stderr
    return lines[0]


# --- 2. every external command has a time limit ----------------------------------------------------


@pytest.mark.parametrize("force", [False, True], ids=["new-dir", "force-over-existing"])
def test_a_hanging_build_is_stopped_once_and_nothing_is_written(cli, run_dir, fake, force):
    log, pids = fake("hang")
    out = run_dir / "out"
    if force:
        out.mkdir()
        (out / "mine.yaml").write_text("keep me\n")
    started = time.monotonic()
    line = refused(cli, run_dir, write_values(run_dir, VALID), "--kustomize", FAKE_KUSTOMIZE, "--timeout", "1",
                   *(["--force"] if force else []), code=3, out=out, names=(str(FAKE_KUSTOMIZE),),
                   says=("did not finish within 1s", "was stopped", "--timeout"))
    assert time.monotonic() - started < 10, line
    assert len(_lines(log)) == 1, "the stopped build was started again"
    assert _all_ended(pids), "the build's process group is still running"


def test_the_time_limit_comes_from_the_environment(cli, run_dir, fake, monkeypatch):
    """verify --chart: a hanging `helm template` (in the background) is stopped too."""
    _, pids = fake("hang")
    monkeypatch.setenv(tools.TIMEOUT_ENV, "1")
    started = time.monotonic()
    result = cli("verify", DATA / "tiny-overlay", "--chart", DATA / "tiny-chart", "--helm", FAKE_HELM)
    assert result.exit_code == 3, result.stderr
    line = _one_error(result.stderr)
    assert "template" in line and "within 1s" in line and time.monotonic() - started < 10
    assert _all_ended(pids)


def test_verify_stops_a_hanging_kustomize(cli, fake):
    _, pids = fake("hang")
    result = cli("verify", DATA / "tiny-overlay", "--manifest", MANIFEST, "--kustomize", FAKE_KUSTOMIZE,
                 "--timeout", "0.5")
    assert result.exit_code == 3 and "within 0.5s" in _one_error(result.stderr)
    assert _all_ended(pids)


def test_batch_workers_keep_the_time_limit(cli, tmp_path, fake):
    _, pids = fake("hang")
    values = tmp_path / "values"
    values.mkdir()
    for name in ("one", "two"):
        write_values(values, VALID, f"{name}.yaml")
    started = time.monotonic()
    result = cli("batch", values, "-o", tmp_path / "out", "--jobs", "2", "--timeout", "1",
                 "--kustomize", FAKE_KUSTOMIZE)
    assert result.exit_code == 3, result.stdout + result.stderr
    assert time.monotonic() - started < 20
    assert result.stdout.count("tool failed") >= 2 and "within 1s" in result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["kustomize"]  # no overlay, no staging
    assert _all_ended(pids)


@pytest.mark.parametrize("args, env, says", [
    (("--timeout", "0"), {}, "--timeout"),
    (("--timeout", "-3"), {}, "--timeout"),
    (("--timeout", "soon"), {}, "--timeout"),
    ((), {tools.TIMEOUT_ENV: "soon"}, "$HELM_TO_KUSTOMIZE_TIMEOUT: 'soon' is not a number"),
    ((), {tools.TIMEOUT_ENV: "0"}, "$HELM_TO_KUSTOMIZE_TIMEOUT: 0.0 is not a positive number"),
    ((), {tools.TIMEOUT_ENV: "inf"}, "$HELM_TO_KUSTOMIZE_TIMEOUT"),
])
def test_a_bad_time_limit_is_a_usage_error(cli, run_dir, monkeypatch, args, env, says):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    refused(cli, run_dir, write_values(run_dir, VALID), *args, names=(), says=(says,))


# --- 3. bounded reads -------------------------------------------------------------------------------


def test_verify_refuses_an_endless_manifest(cli):
    started = time.monotonic()
    result = cli("verify", DATA / "tiny-overlay", "--manifest", "/dev/zero")
    assert result.exit_code == 2 and "over the 64 MiB limit" in _one_error(result.stderr)
    assert time.monotonic() - started < 10


def test_migrate_refuses_an_endless_render_to_verify_against(cli, run_dir):
    refused(cli, run_dir, write_values(run_dir, VALID), "--verify-against", "/dev/zero",
            names=("/dev/zero",), says=("over the 64 MiB limit",))


def test_a_huge_manifest_file_is_refused_before_reading(cli, run_dir):
    manifest = run_dir / "manifest.yaml"
    with manifest.open("wb") as stream:
        stream.truncate(200 << 20)  # sparse: 200 MiB of nothing
    started = time.monotonic()
    result = cli("verify", DATA / "tiny-overlay", "--manifest", manifest)
    assert result.exit_code == 2 and "over the 64 MiB limit" in _one_error(result.stderr)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("what", ["values", "manifest"])
def test_a_fifo_nobody_writes_to_never_blocks(cli, run_dir, what):
    fifo = run_dir / f"{what}.fifo"
    os.mkfifo(fifo)
    started = time.monotonic()
    if what == "values":
        refused(cli, run_dir, fifo, "--timeout", "1", says=("nothing was written to the pipe within 1s",))
    else:
        result = cli("verify", DATA / "tiny-overlay", "--manifest", fifo, "--timeout", "1")
        assert result.exit_code == 2 and "nothing was written to the pipe" in _one_error(result.stderr)
    assert time.monotonic() - started < 10


def test_a_manifest_from_a_pipe_is_read(cli, tmp_path):
    """`--manifest <(helm get manifest RELEASE)` still works: the pipe's writer is there."""
    overlay = tmp_path / "overlay"
    result = cli(FIXTURES / "defaults" / "values.yaml", "-o", overlay, "--release", "ms")
    assert result.exit_code == 0, result.stderr
    fifo = tmp_path / "manifest.fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(MANIFEST.read_bytes()))
    writer.start()
    try:
        result = cli("verify", overlay, "--manifest", fifo, "--namespace", "default")
    finally:
        writer.join(10)
    assert result.exit_code == 0, result.stdout + result.stderr


def test_endless_kustomize_output_is_cut_off(cli, run_dir, fake):
    fake("flood")
    refused(cli, run_dir, write_values(run_dir, VALID), "--kustomize", FAKE_KUSTOMIZE, code=3,
            names=(str(FAKE_KUSTOMIZE),), says=("printed more than 64 MiB", "was stopped"))


BIG = "x" * 200_000
QUADRATIC = f"a: &a {BIG}\nb: [{', '.join(['*a'] * 100)}]\n"


def test_quadratic_aliases_in_values_are_refused(cli, run_dir):
    refused(cli, run_dir, write_values(run_dir, QUADRATIC), says=("aliases expand to more than 16 MiB of text",))


def test_quadratic_aliases_in_a_manifest_are_refused(cli, run_dir):
    manifest = write_values(run_dir, "kind: ConfigMap\nmetadata: {name: x}\ndata:\n  " + QUADRATIC.replace("\n", "\n  "),
                            "manifest.yaml")
    result = cli("verify", DATA / "tiny-overlay", "--manifest", manifest)
    assert result.exit_code == 2 and "aliases expand to more than 16 MiB" in _one_error(result.stderr)


# --- 4. the cache never breaks a run ----------------------------------------------------------------


def _migrated(cli, out: Path, *args: object) -> dict[str, bytes]:
    result = cli(FIXTURES / "pd-disaggregation" / "values.yaml", "-o", out, "--release", "pd", *args)
    assert result.exit_code == 0, result.stderr
    assert "warning" not in result.stderr.lower() or "cache" not in result.stderr.lower()
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.name != "kustomization.yaml"}


def _damage_fifo(entry: Path) -> None:
    entry.unlink()
    os.mkfifo(entry)


DAMAGES = {
    "garbage": lambda e: e.write_bytes(b"\x00\xff garbage"),
    "empty": lambda e: e.write_bytes(b""),
    "cut-short": lambda e: e.write_bytes(e.read_bytes()[: len(e.read_bytes()) // 2]),
    "body-changed": lambda e: e.write_bytes(e.read_bytes().replace(b"v", b"w")),
    "other-format": lambda e: e.write_bytes(e.read_bytes().replace(b"cache 2 ", b"cache 1 ", 1)),
    "a-directory": lambda e: (e.unlink(), e.mkdir()),
    "a-fifo": _damage_fifo,
    "a-link-to-dev-zero": lambda e: (e.unlink(), e.symlink_to("/dev/zero")),
}


@pytest.mark.parametrize("damage", list(DAMAGES.values()), ids=list(DAMAGES))
@pytest.mark.parametrize("section", ["probes", "renders"])
def test_a_damaged_cache_entry_is_made_again(cli, tmp_path, monkeypatch, kustomize_bin, section, damage):
    """Version probes of a real program are cached (a fake script's are not), so the real one runs."""
    directory = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(directory))
    first = _migrated(cli, tmp_path / "first", "--kustomize", kustomize_bin)
    entries = list((directory / section).iterdir())
    assert entries
    for entry in entries:
        damage(entry)
    tools.clear_cache()
    assert _migrated(cli, tmp_path / "second", "--kustomize", kustomize_bin) == first
    for entry in (directory / section).iterdir():  # removed and written anew (a directory stays aside)
        if entry.is_file() and not entry.is_symlink():
            assert entry.read_bytes().startswith(b"helm-to-kustomize-cache 2 "), entry


def test_a_cache_that_cannot_be_written_never_fails_a_run(cli, tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, "/proc/helm-to-kustomize-test/cache")  # unwritable, also for root
    _migrated(cli, tmp_path / "out")


def test_a_full_disk_under_the_cache_never_fails_a_run(cli, tmp_path, monkeypatch):
    directory = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(directory))

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache, "open", full, raising=False)  # cache.write's temporary file
    _migrated(cli, tmp_path / "out")
    assert not [p for p in directory.rglob("*") if p.is_file()]  # no temporary file left either


def test_concurrent_writers_of_one_entry_leave_a_whole_one(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    texts = [f"writer {n}\n" * 20_000 for n in range(4)]
    seen: set[str | None] = set()
    stop = time.monotonic() + 1.5

    def write(text: str) -> None:
        while time.monotonic() < stop:
            cache.write("renders", "one", text)

    def read() -> None:
        while time.monotonic() < stop:
            seen.add(cache.read("renders", "one"))

    threads = [threading.Thread(target=write, args=(t,)) for t in texts] + [threading.Thread(target=read)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen <= {None, *texts} and seen & set(texts)
    assert cache.read("renders", "one") in texts
    assert sorted(p.name for p in (tmp_path / "cache" / "renders").iterdir()) == ["one"]


def test_concurrent_runs_share_one_new_cache(tmp_path, kustomize_bin):
    env = {CACHE_ENV: str(tmp_path / "cache")}
    values = FIXTURES / "pd-disaggregation" / "values.yaml"
    procs = [_console(values, "-o", tmp_path / f"out{n}", "--release", "pd", "--kustomize", kustomize_bin, env=env)
             for n in range(3)]
    for proc in procs:
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr
    files = [{p.name: p.read_bytes() for p in (tmp_path / f"out{n}" / "patches").iterdir()} for n in range(3)]
    assert files[0] == files[1] == files[2]


# --- 1. exclusive output ----------------------------------------------------------------------------


def _preempting_kubectl(tmp_path: Path, kustomize_bin: str, out: Path) -> Path:
    """A kubectl that, on its first build, plays the other run: it puts an overlay at OUT first."""
    script = tmp_path / "bin" / "kubectl"
    script.parent.mkdir(exist_ok=True)
    script.write_text("#!/bin/sh\n"
                      f'if [ "$1" = kustomize ] && [ ! -e "{out}/kustomization.yaml" ]; then\n'
                      f'  mkdir -p "{out}" && echo "theirs: true" > "{out}/kustomization.yaml"\nfi\n'
                      f'exec "{kustomize_bin}" "$@"\n')
    script.chmod(0o755)
    return script


@pytest.mark.parametrize("start", ["absent", "empty-dir"])
@pytest.mark.parametrize("rename", ["renameat2", "parent-lock"])
def test_the_run_that_put_its_overlay_first_wins(cli, tmp_path, monkeypatch, kustomize_bin, start, rename):
    kubectl = _preempting_kubectl(tmp_path, _real_kubectl(kustomize_bin), tmp_path / "run" / "out")
    run = tmp_path / "run"
    run.mkdir()
    if start == "empty-dir":
        (run / "out").mkdir()
    if rename == "parent-lock":
        monkeypatch.setattr(overlay_module, "_rename", lambda source, target, how: False)
    values = write_values(run, VALID)
    result = cli(values, "-o", run / "out", "--kustomize", kubectl)
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "was created by another run" in _one_error(result.stderr)
    assert (run / "out" / "kustomization.yaml").read_text() == "theirs: true\n"
    assert sorted(p.name for p in run.iterdir()) == ["out", "values.yaml"]  # no staging directory left


def _race(tmp_path: Path, kustomize_bin: str, runs: int, *args: object) -> list[tuple[int, str]]:
    """``runs`` migrations into one DIR, held at their builds until all have got there."""
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    env = {"FAKE_BARRIER": str(barrier), "FAKE_BARRIER_N": str(runs), "FAKE_REAL": _real_kubectl(kustomize_bin),
           CACHE_ENV: "off"}
    values = write_values(tmp_path, VALID)
    procs = [_console(values, "-o", tmp_path / "out", "--kustomize", BARRIER_KUBECTL, *args, env=env)
             for _ in range(runs)]
    return [(proc.wait(timeout=120), proc.communicate()[1]) for proc in procs]


def test_concurrent_runs_into_one_new_dir_one_wins(tmp_path, kustomize_bin):
    outcomes = _race(tmp_path, kustomize_bin, 3)
    codes = sorted(code for code, _ in outcomes)
    assert codes == [0, 2, 2], outcomes
    for code, stderr in outcomes:
        if code == 2:
            assert "was created by another run" in _one_error(stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["barrier", "out", "values.yaml"]
    assert tools.kustomize_build(tmp_path / "out", kustomize_bin)  # one complete overlay


def test_concurrent_force_runs_end_in_one_complete_overlay(tmp_path, kustomize_bin):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.yaml").write_text("old\n")
    outcomes = _race(tmp_path, kustomize_bin, 3, "--force")
    assert [code for code, _ in outcomes] == [0, 0, 0], outcomes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["barrier", "out", "values.yaml"]
    assert not (tmp_path / "out" / "old.yaml").exists()
    assert tools.kustomize_build(tmp_path / "out", kustomize_bin)


# --- 5. signals -------------------------------------------------------------------------------------


def _wait_for(condition, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


@pytest.mark.parametrize("when", ["kustomize-started", "overlay-staged"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_exits_128_plus_it_and_leaves_nothing(tmp_path, fake, signum, when):
    """Kustomize starts (early, while the commands are imported), or the overlay is staged and
    its build waits on the hanging Kustomize: either way the signal ends the run cleanly."""
    log, pids = fake("hang")
    run = tmp_path / "run"
    run.mkdir()
    values = write_values(run, VALID)
    before = snapshot(run)
    proc = _console(values, "-o", run / "out", "--kustomize", FAKE_KUSTOMIZE)
    assert _wait_for(lambda: _lines(pids)), proc.communicate()
    if when == "overlay-staged":
        assert _wait_for(lambda: any(p.name.startswith(".out.") for p in run.iterdir())), proc.communicate()
        time.sleep(0.3)
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signum, stderr
    if signum == signal.SIGINT:
        assert "interrupted" in _one_error(stderr)
    assert snapshot(run) == before
    assert _all_ended(pids)


def test_an_interrupted_batch_stops_its_workers(tmp_path, fake):
    _, pids = fake("hang")
    values = tmp_path / "values"
    values.mkdir()
    for name in ("one", "two", "three", "four"):
        write_values(values, VALID, f"{name}.yaml")
    proc = _console("batch", values, "-o", tmp_path / "out", "--jobs", "2", "--kustomize", FAKE_KUSTOMIZE)
    assert _wait_for(lambda: len(_lines(pids)) >= 2), proc.communicate()
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)  # to the batch only, not to its workers: it passes it on
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    assert time.monotonic() - started < 10
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["kustomize"]
    assert _all_ended(pids)


def test_an_interrupted_batch_reports_the_releases_already_done(tmp_path, fake):
    """One release is bad input (done at once); the others hang in Kustomize. Ctrl-C: exit 130,
    and the report names the finished release with its verdict and the others as interrupted."""
    _, pids = fake("hang")
    values = tmp_path / "values"
    values.mkdir()
    for name in ("one", "two"):
        write_values(values, VALID, f"{name}.yaml")
    (values / "broken.yaml").write_text("decode: [unclosed\n")
    report = tmp_path / "report.json"
    proc = _console("batch", values, "-o", tmp_path / "out", "--jobs", "1", "--kustomize", FAKE_KUSTOMIZE,
                    "--format", "json", "--report", report)
    assert _wait_for(lambda: len(_lines(pids)) >= 1), proc.communicate()
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    assert "interrupted: 1 of 3 releases finished" in stderr
    data = json.loads(report.read_text())
    verdicts = {r["name"]: r["result"] for r in data["releases"]}
    assert verdicts == {"broken": "bad input", "one": "interrupted", "two": "interrupted"}
    assert _all_ended(pids)


# --- 6. exit codes stay truthful ---------------------------------------------------------------------


@pytest.mark.parametrize("mode, says", [
    ("garbage", "printed invalid YAML"),
    ("list", "printed a document that is not a Kubernetes object"),
    ("binary", "printed output that is not UTF-8"),
    ("killed", "was killed by SIGKILL"),
])
@pytest.mark.parametrize("command", ["migrate", "verify"])
def test_kustomize_misbehaving_is_a_tool_failure(cli, run_dir, fake, mode, says, command):
    log, _ = fake(mode)
    if command == "migrate":
        refused(cli, run_dir, write_values(run_dir, VALID), "--kustomize", FAKE_KUSTOMIZE, code=3,
                names=(str(FAKE_KUSTOMIZE),), says=(says,))
    else:
        result = cli("verify", DATA / "tiny-overlay", "--manifest", MANIFEST, "--kustomize", FAKE_KUSTOMIZE)
        assert result.exit_code == 3 and says in _one_error(result.stderr)
    assert len(_lines(log)) == 1  # never run again


def test_helm_printing_invalid_yaml_is_a_tool_failure(cli, fake):
    fake("garbage")
    result = cli("verify", DATA / "tiny-overlay", "--chart", DATA / "tiny-chart", "--helm", FAKE_HELM)
    assert result.exit_code == 3 and "printed invalid YAML" in _one_error(result.stderr)


EXTRA = "extraObjects:\n"
BROKEN_EXTRA = [
    ("no-kind", EXTRA + "- {apiVersion: v1, metadata: {name: a}}\n", "extraObjects[0]", "has no kind"),
    ("empty-kind", EXTRA + "- {apiVersion: v1, kind: '', metadata: {name: a}}\n", "extraObjects[0]", "has no kind"),
    ("no-metadata", EXTRA + "- {apiVersion: v1, kind: ConfigMap}\n", "extraObjects[0]", "has no metadata"),
    ("no-name", EXTRA + "- {apiVersion: v1, kind: ConfigMap, metadata: {labels: {a: b}}}\n", "extraObjects[0]",
     "has no metadata.name"),
    ("number-name", EXTRA + "- {apiVersion: v1, kind: ConfigMap, metadata: {name: 12}}\n", "extraObjects[0]",
     "not a string"),
    ("twice", EXTRA + "- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n"
     "- {apiVersion: v1, kind: Secret, metadata: {name: a}}\n"
     "- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}, data: {x: y}}\n", "extraObjects[2]",
     "as extraObjects[0] is"),
    ("twice-in-one-namespace", EXTRA + "- {apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: x}}\n"
     "- {apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: x}}\n", "extraObjects[1]", "namespace x"),
    ("a-chart-object", EXTRA + "- {apiVersion: v1, kind: ServiceAccount, metadata: {name: out-llm-d-modelservice}}\n",
     "extraObjects[0]", "which the chart itself renders"),
    ("a-templated-chart-object", EXTRA + "- apiVersion: apps/v1\n  kind: Deployment\n  metadata:\n"
     "    name: '{{ .Release.Name }}-llm-d-modelservice-decode'\n", "extraObjects[0]", "which the chart itself renders"),
]


@pytest.mark.parametrize("content, key, says", [c[1:] for c in BROKEN_EXTRA], ids=[c[0] for c in BROKEN_EXTRA])
def test_broken_extra_objects_are_the_users_input(cli, run_dir, content, key, says):
    values = write_values(run_dir, content)
    line = refused(cli, run_dir, values, names=(str(values), key), says=(says,))
    assert ".tmp" not in line  # never a staging path


def test_extra_objects_in_other_namespaces_are_not_duplicates(cli, tmp_path):
    """Two objects of one kind and name in two namespaces are two objects to Helm and Kubernetes
    (whether the comparison, keyed by kind and name, can tell them apart is another matter)."""
    values = write_values(tmp_path, EXTRA + "- {apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: x}}\n"
                          "- {apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: y}}\n")
    result = cli(values, "-o", tmp_path / "out")
    assert result.exit_code != 2 and "again" not in result.stderr, result.stderr


# --- 7. messages stay truthful ------------------------------------------------------------------------


@pytest.mark.parametrize("template, what", [
    ('{{ .Files.Get "values.yaml" }}', "'.Files'"),
    ('{{ tpl "{{ .Release.Name }}" . }}', "the function 'tpl'"),
    ('{{ include "llm-d-modelservice.labels" . }}', "include of the template"),
])
def test_what_helm_renders_is_not_said_to_be_refused_by_helm(cli, run_dir, template, what):
    values = write_values(run_dir, EXTRA + "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n"
                          f"  data: {{x: '{template}'}}\n")
    line = refused(cli, run_dir, values, names=(str(values), "extraObjects[0]"),
                   says=(what, "not supported by this tool's offline chart model", "--verify-against"))
    assert "Helm refuses" not in line


def test_a_template_beyond_the_model_migrates_with_the_real_render(cli, tmp_path):
    """What the chart model cannot evaluate, the release's render (--verify-against) answers."""
    values = write_values(tmp_path, EXTRA + "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n"
                          "  data: {x: '{{ .Files.Get \"values.yaml\" | trunc 5 }}'}\n")
    result = cli(values, "-o", tmp_path / "out", "--release", "ms", "--verify-against", MANIFEST)
    assert result.exit_code == 0, result.stderr
