"""`batch` and the changed-overlays hook through real Kustomize: overlays, combined reports, exit codes."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from conftest import FIXTURES, fixture_cases
from migrate import hooks, tools
from migrate.commands import batch
from migrate.fleet import BatchResult, Job, JobResult
from migrate.reporters.batch import as_json, render

CASES = {case["name"]: case for case in fixture_cases()}
SOME = ("single-node-nvidia", "pd-disaggregation", "multinode")  # three accelerator/feature mixes
SAME_NAMESPACE = ("single-node-nvidia", "data-parallel-2x2")  # both in namespace llm-d
PROGRESS_LINE = re.compile(r"^\[\d+/\d+\] [a-z0-9-]+: (migrated|equivalent|not equivalent|bad input|tool failed)"
                           r" \(\d+\.\ds\)")


def cases_index(tmp_path: Path, names: tuple[str, ...]) -> Path:
    """A cases.yaml with some of the fixtures (values at FIXTURES/<name>/values.yaml)."""
    index = tmp_path / "cases.yaml"
    index.write_text(yaml.safe_dump({"chartVersion": "v0.4.12", "cases": [CASES[n] for n in names]}))
    return index


def flat_values(tmp_path: Path, names: tuple[str, ...]) -> tuple[Path, Path]:
    """A directory of <release>.yaml values files and one of <release>.yaml Helm renders."""
    values, renders = tmp_path / "values", tmp_path / "renders"
    values.mkdir()
    renders.mkdir()
    for name in names:
        release = CASES[name]["release"]
        shutil.copy(FIXTURES / name / "values.yaml", values / f"{release}.yaml")
        shutil.copy(FIXTURES / name / "manifest.yaml", renders / f"{release}.yaml")
    return values, renders


def kustomize_build(kustomize_bin: str, overlay: Path) -> str:
    verb = "kustomize" if Path(kustomize_bin).name.startswith("kubectl") else "build"
    return subprocess.run([kustomize_bin, verb, str(overlay)], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> tuple[BatchResult, Path]:
    """One batch over SOME fixtures, verified against their renders; the reports are rendered from it."""
    tmp = tmp_path_factory.mktemp("fleet")
    out = tmp / "overlays"
    opts = batch.BatchOptions(values_dir=FIXTURES, output=out, index=cases_index(tmp, SOME),
                              verify_against_dir=FIXTURES, jobs=2, progress=io.StringIO())
    return batch.execute(opts), out


# --- one batch, every report ------------------------------------------------------------------


def test_every_overlay_is_written_and_builds_to_the_helm_objects(fleet, kustomize_bin: str) -> None:
    result, out = fleet
    assert [r.job.name for r in result.results] == list(SOME)
    assert [r.result for r in result.results] == ["equivalent"] * len(SOME), [r.message for r in result.results]
    assert result.exit_code == 0
    assert (out / "kustomize" / "base" / "kustomization.yaml").is_file()  # one shared library
    for name in SOME:
        kustomization = (out / name / "kustomization.yaml").read_text()
        assert "../kustomize/" in kustomization
        assert not (out / name / "library").exists()
        built = [d for d in yaml.safe_load_all(kustomize_build(kustomize_bin, out / name)) if d]
        helm = [d for d in yaml.safe_load_all((FIXTURES / name / "manifest.yaml").read_text()) if d]
        assert sorted((d["kind"], d["metadata"]["name"]) for d in built) == \
            sorted((d["kind"], d["metadata"]["name"]) for d in helm)


def test_json_report_has_one_entry_per_release(fleet) -> None:
    result, out = fleet
    report = json.loads(render(result, "json"))
    assert report["exitCode"] == 0
    assert report["summary"]["releases"] == len(SOME)
    assert report["summary"]["equivalent"] == len(SOME)
    entries = {e["name"]: e for e in report["releases"]}
    assert set(entries) == set(SOME)
    single = entries["single-node-nvidia"]
    assert (single["release"], single["namespace"], single["overlay"]) == \
        ("single", "llm-d", str(out / "single-node-nvidia"))
    assert single["verification"]["equivalent"] is True
    assert single["migration"]["accelerator"]


def test_junit_report_has_one_testcase_per_release(fleet) -> None:
    result, _ = fleet
    root = ET.fromstring(render(result, "junit"))
    cases = root.findall("./testsuite/testcase")
    assert [c.get("name") for c in cases] == list(SOME)
    assert [c.get("classname") for c in cases] == [CASES[n]["namespace"] for n in SOME]
    assert root.get("tests") == str(len(SOME)) and root.get("failures") == "0" and root.get("errors") == "0"


def test_markdown_report_starts_with_the_summary_table(fleet) -> None:
    result, _ = fleet
    lines = render(result, "markdown").splitlines()
    assert lines[0] == f"### helm-to-kustomize batch: ✅ {len(SOME)} of {len(SOME)} releases OK"
    assert lines[2:5] == ["| Result | Releases |", "|---|---:|", f"| equivalent | {len(SOME)} |"]
    assert sum(1 for line in lines if line.startswith("| `")) == len(SOME)


def test_text_report_is_a_table_and_a_summary_line(fleet) -> None:
    result, _ = fleet
    lines = render(result, "text").splitlines()
    assert lines[0].split() == ["NAME", "RELEASE", "NAMESPACE", "RESULT", "TIME", "DETAIL"]
    assert [line.split()[0] for line in lines[1:4]] == list(SOME)
    assert re.fullmatch(r"3 releases in \d+\.\ds on 2 workers: 3 equivalent\.", lines[-1])


# --- failures ---------------------------------------------------------------------------------


def test_a_broken_values_file_does_not_stop_the_others(cli, tmp_path: Path) -> None:
    values, renders = flat_values(tmp_path, SAME_NAMESPACE)
    (values / "broken.yaml").write_text("decode: [unclosed\n")
    report = tmp_path / "report.json"
    result = cli("batch", values, "-o", tmp_path / "out", "--namespace", "llm-d", "--verify-against-dir", renders,
                 "--jobs", "2", "--format", "json", "--report", report)
    assert result.exit_code == 2, result.stderr
    entries = {e["name"]: e for e in json.loads(report.read_text())["releases"]}
    assert entries["broken"]["result"] == "bad input"
    assert entries["broken"]["exitCode"] == 2
    assert "broken.yaml" in entries["broken"]["message"] and "\n" not in entries["broken"]["message"]
    for name in SAME_NAMESPACE:
        release = CASES[name]["release"]
        assert entries[release]["result"] == "equivalent"
        assert (tmp_path / "out" / release / "kustomization.yaml").is_file()
    assert not (tmp_path / "out" / "broken").exists()
    assert "broken" in result.stdout and "1 bad input" in result.stdout


def test_progress_without_a_tty_is_plain_lines(cli, tmp_path: Path) -> None:
    values, renders = flat_values(tmp_path, SAME_NAMESPACE)
    result = cli("batch", values, "-o", tmp_path / "out", "--namespace", "llm-d", "--verify-against-dir", renders)
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == len(SAME_NAMESPACE)
    assert all(PROGRESS_LINE.match(line) for line in lines), lines
    assert "\r" not in result.stderr and "\033" not in result.stderr


def test_a_render_the_values_do_not_explain_is_followed(cli, tmp_path: Path, kustomize_bin: str) -> None:
    """The render is what runs (a hand-scaled Deployment here): the overlay is fitted to it."""
    values, renders = flat_values(tmp_path, SAME_NAMESPACE[:1])
    render_file = renders / "single.yaml"
    render_file.write_text(render_file.read_text().replace("replicas: 1", "replicas: 7", 1))
    result = cli("batch", values, "-o", tmp_path / "out", "--namespace", "llm-d", "--verify-against-dir", renders,
                 "--format", "markdown")
    assert result.exit_code == 0, result.stderr
    built = list(yaml.safe_load_all(tools.kustomize_build(tmp_path / "out" / "single", kustomize_bin)))
    assert 7 in [o["spec"].get("replicas") for o in built if o["kind"] == "Deployment"]


def test_a_missing_render_is_that_release_s_bad_input(cli, tmp_path: Path) -> None:
    values, renders = flat_values(tmp_path, SAME_NAMESPACE)
    (renders / "dp.yaml").unlink()
    result = cli("batch", values, "-o", tmp_path / "out", "--namespace", "llm-d", "--verify-against-dir", renders)
    assert result.exit_code == 2
    assert re.search(r"\] dp: bad input .*no Helm render for 'dp'", result.stderr)
    assert (tmp_path / "out" / "single" / "kustomization.yaml").is_file()


@pytest.mark.parametrize(("index", "message"), [
    ("- file: a.yaml\n  colour: red\n", r"index.yaml: \[0\].colour: unknown key"),
    ("- release: a\n", r"index.yaml: \[0\]: 'file' is required"),
    ("cases:\n- {name: x, release: 3}\n", r"index.yaml: cases\[0\].release: should be a non-empty string"),
    ("- file: a.yaml\n- file: b/a.yaml\n", r"two releases would share the overlay directory 'a'"),
    ("just text\n", r"index.yaml: should be a list"),
])
def test_a_bad_index_is_one_error_line_and_exit_2(cli, tmp_path: Path, index: str, message: str) -> None:
    (tmp_path / "index.yaml").write_text(index)
    result = cli("batch", tmp_path, "--index", tmp_path / "index.yaml", "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert re.search(message, result.stderr), result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_an_empty_values_directory_is_bad_input(cli, tmp_path: Path) -> None:
    result = cli("batch", tmp_path, "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert "no values files" in result.stderr


def _job_result(code: int) -> JobResult:
    return JobResult(Job(f"r{code}", None, f"r{code}"), code, 0.1, message="" if code == 0 else "why")


@pytest.mark.parametrize(("codes", "expected"), [
    ([0, 0], 0), ([0, 1], 1), ([1, 2, 0], 2), ([3, 1, 2], 3), ([0, 4, 3], 4),
])
def test_the_exit_code_is_the_most_severe_outcome(codes: list[int], expected: int) -> None:
    result = BatchResult([_job_result(code) for code in codes], 1.0, 1)
    assert result.exit_code == expected
    assert as_json(result)["exitCode"] == expected


def test_the_progress_bar_on_a_terminal_redraws_one_line() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    progress = batch.Progress(2, stream)
    progress.done(_job_result(0))
    progress.done(_job_result(2))
    progress.finish()
    assert stream.getvalue().count("\r") == 2
    assert stream.getvalue().count("\n") == 1
    assert "2/2" in stream.getvalue()


# --- the changed-overlays hook ----------------------------------------------------------------


def test_hook_verifies_only_the_overlays_a_change_touches(fleet, capsys: pytest.CaptureFixture[str]) -> None:
    _, out = fleet
    changed = out / "multinode" / "kustomization.yaml"
    code = hooks.main(["--overlays", str(out), "--renders", str(FIXTURES), "--format", "junit", str(changed)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert [c.get("name") for c in ET.fromstring(captured.out).findall("./testsuite/testcase")] == ["multinode"]


def test_hook_selection_by_path(tmp_path: Path) -> None:
    overlays, renders, library = tmp_path / "overlays", tmp_path / "renders", tmp_path / "kustomize"
    for name in ("a", "b"):
        (overlays / name).mkdir(parents=True)
        (overlays / name / "kustomization.yaml").write_text("resources: []\n")
    for block in ("base", "accelerators", "components"):
        (library / block).mkdir(parents=True)
    (library / "base" / "kustomization.yaml").write_text("resources: []\n")
    found = hooks.find_overlays([overlays])
    a, b = found
    assert hooks.select(found, [], renders) == [a, b]
    assert hooks.select(found, [overlays / "b" / "patches" / "x.yaml"], renders) == [b]
    assert hooks.select(found, [renders / "a" / "manifest.yaml"], renders) == [a]
    assert hooks.select(found, [renders / "b.yaml"], renders) == [b]
    assert hooks.select(found, [library / "base" / "kustomization.yaml"], renders) == [a, b]
    assert hooks.select(found, [tmp_path / ".github" / "workflows" / "ci.yaml"], renders) == []


def test_hook_with_nothing_to_verify_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "overlays").mkdir()
    code = hooks.main(["--overlays", str(tmp_path / "overlays"), "--renders", str(tmp_path), "README.md"])
    assert code == 0
    assert "no overlay affected" in capsys.readouterr().err


def test_batch_migrates_every_fixture(cli, tmp_path: Path) -> None:
    """All fixtures in one call (about 30 s on two cores)."""
    report = tmp_path / "report.json"
    result = cli("batch", FIXTURES, "--index", FIXTURES / "cases.yaml", "-o", tmp_path / "out",
                 "--verify-against-dir", FIXTURES, "--format", "json", "--report", report)
    entries = json.loads(report.read_text())["releases"]
    assert len(entries) == len(CASES)
    assert [e["name"] for e in entries if e["result"] != "equivalent"] == []
    assert result.exit_code == 0


@pytest.mark.parametrize("name", ["../up", "kustomize"])
def test_an_index_name_that_is_not_a_safe_overlay_directory_is_refused(cli, tmp_path: Path, name: str) -> None:
    (tmp_path / "a.yaml").write_text("{}\n")
    (tmp_path / "index.yaml").write_text(f"- {{file: a.yaml, release: a, name: '{name}'}}\n")
    result = cli("batch", tmp_path, "--index", tmp_path / "index.yaml", "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert name in result.stderr and len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "out" / "kustomize").exists()


# --- renders shared between releases --------------------------------------------------------------


COMBINABLE = ("single-node-nvidia", "pd-disaggregation", "decode-replicas-3", "tensor-parallel-4")


def _builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The directories Kustomize is run on from now on."""
    built: list[str] = []
    original = tools.run

    def counting(cmd, **kwargs):  # type: ignore[no-untyped-def]
        if Path(str(cmd[-1])).is_dir():
            built.append(str(cmd[-1]))
        return original(cmd, **kwargs)

    monkeypatch.setattr(tools, "run", counting)
    return built


def _files(directory: Path) -> dict[str, str]:
    """The overlay's files, its own path (in the header's command) left out."""
    return {str(p.relative_to(directory)): p.read_text().replace(str(directory), "DIR")
            for p in sorted(directory.rglob("*")) if p.is_file()}


def test_batch_renders_many_releases_in_one_kustomize_process_with_the_same_outcome(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = cases_index(tmp_path, COMBINABLE)

    def run(name: str, combine: bool) -> tuple[BatchResult, list[str]]:
        opts = batch.BatchOptions(values_dir=FIXTURES, output=tmp_path / name, index=index, verify_against_dir=FIXTURES,
                                  jobs=2, executor="thread", progress=io.StringIO(), combine=combine)
        batch.execute(opts)  # the library renders of these releases are cached from here on
        built = _builds(monkeypatch)
        result = batch.execute(batch.BatchOptions(**{**opts.__dict__, "output": tmp_path / f"{name}-again"}))
        monkeypatch.undo()
        return result, built

    together, together_builds = run("together", True)
    apart, apart_builds = run("apart", False)
    assert [r.result for r in together.results] == ["equivalent"] * len(COMBINABLE)
    assert len(apart_builds) == len(COMBINABLE)
    # renders made together (one process when every thread reaches its render at once; on a loaded
    # machine a thread may come late and get a build of its own)
    assert len(together_builds) < len(COMBINABLE) and "h2k-fleet-" in together_builds[0]
    for a, b in zip(together.results, apart.results):
        assert (a.exit_code, a.message) == (b.exit_code, b.message)
        assert a.verification.equivalent and b.verification.equivalent
        assert len(a.verification.objects) == len(b.verification.objects)
        assert _files(Path(a.overlay)) == _files(Path(b.overlay))


def test_hook_reports_an_overlay_kustomize_refuses_against_it_alone(fleet, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _, out = fleet
    overlays = tmp_path / "overlays"
    shutil.copytree(out, overlays)
    patch = overlays / "pd-disaggregation" / "patches" / "decode-replicas.yaml"
    patch.write_text(patch.read_text().replace("/spec/replicas", "/spec/no/such/field"))
    built = _builds(monkeypatch)
    result = hooks.verify_changed([overlays], FIXTURES, [], jobs=1)
    builds = list(built)
    by_name = {r.job.name: r for r in result.results}
    assert by_name["pd-disaggregation"].result == "tool failed"
    with pytest.raises(Exception) as own:
        tools.kustomize_build(overlays / "pd-disaggregation")
    assert str(own.value) in by_name["pd-disaggregation"].message
    assert [by_name[n].result for n in SOME if n != "pd-disaggregation"] == ["equivalent"] * (len(SOME) - 1)
    assert result.exit_code == 3
    # multinode alone (a component with name-reference configurations); the other two together, then each alone
    assert len(builds) == 4 and sum("h2k-fleet-" in b for b in builds) == 1


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_an_interrupted_batch_stops_the_shared_render_and_exits_130(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    jobs: str) -> None:
    """Migrations waiting in threads for one shared render all stop when it is killed."""
    import signal
    import time

    from test_faults import FAKE_KUSTOMIZE, VALID, _all_ended, _console, _lines, _wait_for, write_values

    tools.clear_cache()
    monkeypatch.setenv("FAKE_MODE", "hang")
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "builds.log"))
    monkeypatch.setenv("FAKE_PIDS", str(pids := tmp_path / "pids.log"))
    values = tmp_path / "values"
    values.mkdir()
    for name in ("one", "two", "three", "four", "five"):
        write_values(values, VALID, f"{name}.yaml")
    proc = _console("batch", values, "-o", tmp_path / "out", "--jobs", jobs, "--kustomize", FAKE_KUSTOMIZE)
    assert _wait_for(lambda: len(_lines(pids)) >= 1), proc.communicate()
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    assert time.monotonic() - started < 10
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["kustomize"]
    assert _all_ended(pids)
    tools.clear_cache()


def test_library_parts_of_different_building_blocks_are_rendered_together_from_an_empty_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """From an empty cache, the library renders of releases on different building blocks name
    their objects apart (tokens named after the blocks), so they share Kustomize processes."""
    monkeypatch.setenv("HELM_TO_KUSTOMIZE_CACHE", str(tmp_path / "cache"))
    parts: list[list[str]] = []  # per Kustomize process, the namePrefix of each library part it built
    original = tools.run

    def recording(cmd, **kwargs):  # type: ignore[no-untyped-def]
        top = Path(str(cmd[-1]))
        if top.is_dir():
            overlays = [top]
            if top.name.startswith("h2k-fleet-"):  # a combined build: one wrapper per overlay
                wrappers = [top / r for r in yaml.safe_load((top / "kustomization.yaml").read_text())["resources"]]
                overlays = [w / yaml.safe_load((w / "kustomization.yaml").read_text())["resources"][0]
                            for w in wrappers]
            docs = [yaml.safe_load((o / "kustomization.yaml").read_text()) for o in overlays]
            parts.append([d["namePrefix"] for d in docs if str(d.get("namePrefix", "")).startswith("h2kprefix")])
        return original(cmd, **kwargs)

    monkeypatch.setattr(tools, "run", recording)
    opts = batch.BatchOptions(values_dir=FIXTURES, output=tmp_path / "out", index=cases_index(tmp_path, COMBINABLE),
                              verify_against_dir=FIXTURES, jobs=1, executor="thread", progress=io.StringIO())
    result = batch.execute(opts)
    assert [r.result for r in result.results] == ["equivalent"] * len(COMBINABLE)
    library_parts = [p for built in parts for p in built]
    assert len(set(library_parts)) == len(library_parts) >= 3  # different blocks: different tokens
    # rendered in fewer processes than there are parts (all in one when the threads reach them together)
    assert 0 < sum(1 for built in parts if built) < len(library_parts)


def test_a_batch_checks_values_with_jsonschema_alone_and_a_single_migration_compiles_the_quick_check(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """From an empty cache, a batch writes no compiled values check (jsonschema checks its
    releases), while one migration compiles and keeps it."""
    from migrate import cache, values
    from migrate.commands import migrate as command
    from migrate.options import MigrateOptions

    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    values._quick.cache_clear()
    try:
        names = SOME[:2]
        opts = batch.BatchOptions(values_dir=FIXTURES, output=tmp_path / "out", index=cases_index(tmp_path, names),
                                  verify_against_dir=FIXTURES, jobs=2, progress=io.StringIO())
        assert batch.execute(opts).exit_code == 0
        assert not (tmp_path / "cache" / values.QUICK_SECTION).exists()
        case = CASES[names[0]]
        command.migrate(MigrateOptions(values=FIXTURES / names[0] / "values.yaml", output=tmp_path / "one",
                                       release=case["release"], namespace=case["namespace"],
                                       verify_against=FIXTURES / names[0] / "manifest.yaml"))
        assert list((tmp_path / "cache" / values.QUICK_SECTION).iterdir())
    finally:
        values._quick.cache_clear()
