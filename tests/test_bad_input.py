"""Bad input, hostile files, nothing lost.

Every refusal is exit 2 (3 when a tool is missing, too old or failed), exactly one line on
stderr that names the file and the key or path, no traceback, nothing on stdout, and not one
file written or changed: the whole tmp tree (names, types, modes, contents) is the same after
the run as before, so the output directory is either still absent or untouched, and no
staging directory (``.DIR.*.tmp``) is left behind.

Decision on very large values files: they are refused before parsing. A file over 1 MiB is
not ``helm get values`` output (Helm keeps a release, values included, in a Secret of at
most 1 MiB), and PyYAML needs minutes for 50 MB.
"""

from __future__ import annotations

import hashlib
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import DATA, ROOT
from migrate import overlay as overlay_module
from migrate import tools
from migrate.cache import CACHE_ENV

VALID = "decode:\n  replicas: 2\n"
PREFIX = "helm-to-kustomize: error: "


@pytest.fixture(autouse=True)
def _fresh_tool_probes():
    tools.clear_cache()  # fake tools live at new paths, but be sure no probe result leaks between tests
    yield
    tools.clear_cache()


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under ``root``: type, mode and content (a digest for files, the target for links)."""
    out: dict[str, tuple] = {}
    for top, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(top, name)
            info = path.lstat()
            if path.is_symlink():
                out[str(path.relative_to(root))] = ("link", os.readlink(path))
            elif path.is_dir():
                out[str(path.relative_to(root))] = ("dir", info.st_mode)
            elif not stat.S_ISREG(info.st_mode):
                out[str(path.relative_to(root))] = ("special", info.st_mode)
            else:
                out[str(path.relative_to(root))] = ("file", info.st_mode, hashlib.sha256(path.read_bytes()).hexdigest())
    return out


def write_values(tmp_path: Path, content: str | bytes | None, name: str = "values.yaml") -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    return path


def refused(cli, tmp_path: Path, values: Path, *args: object, says: tuple[str, ...] = (), code: int = 2,
            names: tuple[str, ...] | None = None, out: Path | None = None) -> str:
    """Run ``helm-to-kustomize VALUES -o OUT ARGS``; assert the refusal contract; return the error line."""
    out = tmp_path / "out" if out is None else out
    before = snapshot(tmp_path)
    result = cli(values, "-o", out, *args)
    lines = result.stderr.splitlines()
    assert result.exit_code == code, result.stdout + result.stderr
    assert len(lines) == 1 and lines[0].startswith(PREFIX), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    for needle in (str(values),) if names is None else names:
        assert needle in lines[0], f"{needle!r} not named in: {lines[0]}"
    for needle in says:
        assert needle in lines[0], f"{needle!r} not in: {lines[0]}"
    assert snapshot(tmp_path) == before, "a file was written or changed"
    return lines[0]


def fake_tool(tmp_path: Path, name: str, script: str) -> Path:
    path = tmp_path / "bin" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return path


# --- values files: (id, content, what the error line must say) ------------------------------------

LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi"))

VALUES = [
    ("not-yaml", "decode: [1, 2\nprefill: }\n", ("invalid YAML", "line 2")),
    ("not-json", '{"decode": {"replicas": 2}', ("invalid YAML", "line 1")),
    ("a-list", "- decode\n- prefill\n", ("values must be a map", "not a list")),
    ("a-scalar", "just a string\n", ("values must be a map", "not a single value")),
    ("tab-indent", "decode:\n\treplicas: 2\n", ("invalid YAML", "line 2", "\\t")),
    ("not-utf8", b"decode:\n  replicas: \xff\xfe\n", ("not UTF-8", "byte 20")),
    ("latin-1", b"modelArtifacts:\n  name: caf\xe9\n", ("not UTF-8",)),
    ("billion-laughs", LAUGHS, ("aliases expand to more than",)),
    ("deep-nesting", "a: " + "[" * 500 + "]" * 500 + "\n", ("nesting deeper than",)),
    ("two-documents", VALID + "---\nprefill:\n  replicas: 1\n", ("invalid YAML", "line 3")),
    ("complex-key", "? [a, b]\n: 1\n", ("a map key must be a scalar",)),
    ("wrong-type", "decode: {replicas: two}\n", ("decode.replicas", "'two' is not of type 'integer'", "schema")),
    ("wrong-type-bool", "multinode: 'yes'\n", ("multinode", "not of type 'boolean'")),
    ("schema-extra-key", "modelArtifacts: {bogus: 1}\n", ("modelArtifacts.bogus", "Helm refuses them")),
    ("infinity", "decode: {replicas: .inf}\n", ("decode.replicas", "infinity or NaN")),
    ("unknown-key", "decode: {bogus: 1}\n", ("decode.bogus", "no mapping", "--allow-unmapped")),
    ("unknown-keys", "decode: {bogus: 1}\nzzz: 2\n", ("decode.bogus", "(and 1 more)")),
    ("terminal-escape-key", '"evil\\e]0;owned\\a": 1\n', ("evil\\x1b]0;owned\\x07",)),
    ("newline-key", '"a\\nb": 1\n', ("a b: no mapping",)),  # one line: breaks fold to spaces
]

# Tags that would run code under an unsafe loader; each would create MARKER.
CODE_TAGS = [
    ("apply-top", "!!python/object/apply:os.system ['touch {marker}']\n"),
    ("apply-nested", "decode: !!python/object/apply:os.system ['touch {marker}']\n"),
    ("apply-subprocess", "decode:\n  x: !!python/object/apply:subprocess.call [[touch, '{marker}']]\n"),
    ("new-object", "decode: !!python/object/new:os.system ['touch {marker}']\n"),
    ("python-name", "decode: !!python/name:os.system\n"),
    ("local-tag", "decode: !mytag {{replicas: 1}}\n"),
]


@pytest.mark.parametrize("content, says", [c[1:] for c in VALUES], ids=[c[0] for c in VALUES])
def test_bad_values_file(cli, tmp_path, content, says):
    refused(cli, tmp_path, write_values(tmp_path, content), says=says)


def test_allow_unmapped_accepts_unknown_keys(cli, tmp_path):
    result = cli(write_values(tmp_path, "decode: {bogus: 1}\n"), "-o", tmp_path / "out", "--allow-unmapped")
    assert result.exit_code == 0, result.stderr
    assert "unmapped: decode.bogus" in result.stdout
    assert "#   decode.bogus" in (tmp_path / "out" / "kustomization.yaml").read_text()


def test_hostile_key_cannot_leave_the_kustomization_comment(cli, tmp_path):
    """A key with a line break, listed as unmapped, stays inside its comment line."""
    values = write_values(tmp_path, '"x\\nnamePrefix: evil-\\n": 1\n')
    assert cli(values, "-o", tmp_path / "out", "--allow-unmapped").exit_code == 0
    text = (tmp_path / "out" / "kustomization.yaml").read_text()
    assert "#   x\\nnamePrefix: evil-\\n" in text
    assert yaml.safe_load(text).get("namePrefix") != "evil-"


@pytest.mark.parametrize("content", [c[1] for c in CODE_TAGS], ids=[c[0] for c in CODE_TAGS])
def test_code_tags_never_run(cli, tmp_path, content):
    marker = tmp_path.parent / f"{tmp_path.name}-MARKER"  # outside the snapshot, so a run would show
    refused(cli, tmp_path, write_values(tmp_path, content.format(marker=marker)), says=("tag not allowed",))
    assert not marker.exists()


@pytest.mark.parametrize("encoding, says", [
    ("utf-16", "UTF-16"), ("utf-16-be", "NUL bytes"), ("utf-32", "UTF-32"), ("utf-32-le", "NUL bytes"),
])
def test_utf16_and_utf32_are_refused_as_helm_refuses_them(cli, tmp_path, encoding, says):
    """Helm 4 refuses these (`incomplete UTF-16 character`, `control characters are not allowed`)."""
    values = write_values(tmp_path, "USER-SUPPLIED VALUES:\ndecode:\n  replicas: 2\n".encode(encoding))
    refused(cli, tmp_path, values, says=("not UTF-8 text", says))


def test_utf8_with_bom_is_read_as_helm_reads_it(cli, tmp_path):
    values = write_values(tmp_path, b"\xef\xbb\xbf" + "USER-SUPPLIED VALUES:\ndecode:\n  replicas: 2\n".encode())
    result = cli(values, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("content", ["a: &a [*a]\n", "a: &a {b: *a}\n"], ids=["list", "map"])
def test_recursive_alias(cli, tmp_path, content):
    refused(cli, tmp_path, write_values(tmp_path, content), says=("line 1", "a"))


def test_huge_values_file_is_refused_before_parsing(cli, tmp_path):
    values = tmp_path / "values.yaml"
    with values.open("w") as stream:  # 50 MB: valid YAML that would take minutes to parse
        stream.write(VALID)
        line = "#" + "x" * 1023 + "\n"
        stream.writelines(line for _ in range(50 * 1024))
    started = time.monotonic()
    refused(cli, tmp_path, values, says=("50.0 MiB", "1 MiB limit"))
    assert time.monotonic() - started < 3


def test_huge_values_from_a_pipe_is_refused(cli, tmp_path):
    fifo = tmp_path / "values.fifo"
    os.mkfifo(fifo)
    writer = subprocess.Popen([sys.executable, "-c", "import sys; f = open(sys.argv[1], 'w'); "
                               "f.write('#' * 1500000 + '\\n'); f.close()", str(fifo)])
    try:
        refused(cli, tmp_path, fifo, says=("1 MiB limit",))
    finally:
        writer.kill()
        writer.wait()


@pytest.mark.parametrize("make, says", [
    (lambda t: t / "missing.yaml", ("No such file or directory",)),
    (lambda t: (t / "values.d").mkdir() or t / "values.d", ("Is a directory",)),
    (lambda t: os.symlink(t / "nowhere.yaml", t / "dangling.yaml") or t / "dangling.yaml", ("No such file",)),
], ids=["missing", "a-directory", "dangling-link"])
def test_unreadable_values(cli, tmp_path, make, says):
    refused(cli, tmp_path, make(tmp_path), says=("cannot read values file", *says))


# --- the chart's own refusals: (id, values, key, what Helm says, how to fix it) --------------------

def container(extra: str, role: str = "decode") -> str:
    return f"{role}:\n  containers:\n  - name: vllm\n{extra}"


REFUSALS = [
    ("custom-without-command", container("    image: img:1\n    modelCommand: custom\n"),
     "decode.containers[0].command", "When .container.modelCommand not set or `custom`, a `command` is required.",
     "set a command"),
    ("no-modelcommand-no-command", container("    image: img:1\n"),
     "decode.containers[0].command", "a `command` is required", "modelCommand: vllmServe"),
    ("unknown-modelcommand", container("    image: img:1\n    modelCommand: serve\n"),
     "decode.containers[0].modelCommand", "Valid values are `vllmServe`, `imageDefault` and `custom`.",
     "use one of them"),
    ("container-without-image", container("    modelCommand: imageDefault\n"),
     "decode.containers[0].image", "image of container is required", "set an image"),
    ("prefill-container-empty-image", container("    image: ''\n    modelCommand: imageDefault\n", "prefill"),
     "prefill.containers[0].image", "image of container is required", "set an image"),
    ("oci-with-vllmserve", "modelArtifacts: {uri: 'oci://registry/model:1'}\n"
     + container("    image: img:1\n    modelCommand: vllmServe\n"),
     "modelArtifacts.uri", "arguments for oci:// not implemented", "modelCommand: custom"),
    ("oci-with-imagedefault", "modelArtifacts: {uri: 'oci://registry/model:1'}\n",
     "modelArtifacts.uri", "arguments for oci:// not implemented", "modelCommand: custom"),
    ("proxy-without-image", "routing: {proxy: {enabled: true, image: ''}}\n",
     "routing.proxy.image", "routing.proxy.image must be specified", "routing.proxy.enabled: false"),
    ("proxy-image-null", "routing: {proxy: {image: null}}\n",
     "routing.proxy.image", "routing.proxy.image must be specified", "set routing.proxy.image"),
    ("data-not-multiple-of-workers", "decode: {parallelism: {data: 8, dataLocal: null, workers: 3}}\n",
     "decode.parallelism.data", "parallelism.data must be a multiple of parallelism.workers",
     "make decode.parallelism.data a multiple of decode.parallelism.workers"),
    ("data-not-multiple-of-datalocal",
     "multinode: true\ndecode: {parallelism: {data: 8, dataLocal: 3, workers: null}}\n",
     "decode.parallelism.data", "parallelism.data must be a multiple of parallelism.dataLocal",
     "make decode.parallelism.data a multiple of decode.parallelism.dataLocal"),
    ("pvc-hf-two-segments", "modelArtifacts: {uri: 'pvc+hf://claim/model'}\n",
     "modelArtifacts.uri", "slice index out of bounds", "<claim>/<namespace>/<model>"),
    ("pvc-hf-one-segment", "modelArtifacts: {uri: 'pvc+hf://claim'}\n",
     "modelArtifacts.uri", "out of range", "<claim>/<namespace>/<model>"),
    ("model-labels-null", "modelArtifacts: {labels: null}\n",
     "modelArtifacts.labels", "YAML parse error", "keep at least one label"),
    ("multinode-autoscaling-null", "multinode: true\ndecode: {autoscaling: null}\n",
     "decode.autoscaling", "nil pointer evaluating interface {}.enabled", "set it"),
]


@pytest.mark.parametrize("content, key, helm_says, fix", [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_chart_refusal(cli, tmp_path, content, key, helm_says, fix):
    values = write_values(tmp_path, content)
    line = refused(cli, tmp_path, values, names=(str(values), key), says=(helm_says, "Helm refuses to render", fix))
    assert line.index(str(values)) < line.index(key)  # "FILE: KEY: ..."


# --- the output directory --------------------------------------------------------------------------

def _non_empty(t: Path) -> Path:
    (t / "out").mkdir()
    (t / "out" / "mine.yaml").write_text("keep me\n")
    return t / "out"


def _link_outside(t: Path) -> Path:
    (t / "elsewhere").mkdir()
    (t / "elsewhere" / "theirs.txt").write_text("not yours\n")
    (t / "work").mkdir()
    (t / "work" / "out").symlink_to(t / "elsewhere")
    return t / "work" / "out"


def _under_file(t: Path, *parts: str) -> Path:
    (t / "file").write_text("x\n")
    return t.joinpath("file", *parts)


OUTPUTS = [
    ("non-empty-without-force", _non_empty, (), ("exists and is not empty", "--force")),
    ("under-a-regular-file", lambda t: _under_file(t, "out"), (), ("is not a directory",)),
    ("deep-under-a-regular-file", lambda t: _under_file(t, "a", "b", "out"), (), ("is not a directory",)),
    ("is-a-regular-file", _under_file, (), ("is a file",)),
    ("symlink-outside", _link_outside, (), ("is a symbolic link",)),
    ("symlink-outside-force", _link_outside, ("--force",), ("is a symbolic link",)),
    ("dangling-symlink", lambda t: (t / "out").symlink_to(t / "nowhere") or t / "out", (), ("is a symbolic link",)),
    ("under-proc", lambda t: Path("/proc/helm-to-kustomize-test/out"), (), ()),  # works as root too
    ("the-root", lambda t: Path("/"), ("--release", "x", "--force"), ("is the root directory",)),
    ("release-dot-dot", lambda t: t / "out", ("--release", ".."), ("'..' is not a valid Helm release name",)),
    ("release-with-slash", lambda t: t / "out", ("--release", "../evil"), ("not a valid Helm release name",)),
]


@pytest.mark.parametrize("make, args, says", [o[1:] for o in OUTPUTS], ids=[o[0] for o in OUTPUTS])
def test_output_refused(cli, tmp_path, make, args, says):
    values = write_values(tmp_path, VALID)
    out = make(tmp_path)
    names = (str(out),) if not any("release" in s for s in says) else ("--release",)
    refused(cli, tmp_path, values, *args, out=out, names=names, says=says)


def test_force_never_deletes_the_values_it_reads(cli, tmp_path):
    out = _non_empty(tmp_path)
    values = write_values(out, VALID)
    refused(cli, tmp_path, values, "--force", out=out, names=(str(out), str(values)), says=("--force would delete",))


@pytest.mark.skipif(os.geteuid() == 0,
                    reason="root writes into a 0555 directory anyway; test_output_refused[under-proc] covers root")
def test_unwritable_parent(cli, tmp_path):
    parent = tmp_path / "ro"
    parent.mkdir(mode=0o555)
    try:
        refused(cli, tmp_path, write_values(tmp_path, VALID), out=parent / "out", names=(str(parent / "out"),),
                says=("not writable",))
    finally:
        parent.chmod(0o755)


@pytest.mark.parametrize("values", [
    "fullnameOverride: ../../evil\n",
    "nameOverride: a/b\n",
    "fullnameOverride: '/etc/evil'\nnameOverride: ../x\n",
    "decode:\n  containers:\n  - name: ../../../escape\n    image: img:1\n    modelCommand: imageDefault\n",
], ids=["fullname-dot-dot", "name-slash", "absolute", "container-name"])
def test_names_from_values_never_become_paths(cli, tmp_path, values):
    """Names flow into objects, never into file names: everything written is inside DIR."""
    (tmp_path / "work").mkdir()
    values_file = write_values(tmp_path, values)
    before = snapshot(tmp_path)
    out = tmp_path / "work" / "out"
    result = cli(values_file, "-o", out)
    assert result.exit_code == 0, result.stderr
    added = set(snapshot(tmp_path)) - set(before)
    assert added and all(path.startswith("work/out") for path in added), sorted(added)
    assert all(p.name.replace("-", "").replace(".yaml", "").isalnum() for p in (out / "patches").iterdir())
    doc = yaml.safe_load((out / "kustomization.yaml").read_text())
    assert all(".." not in p["path"] and not p["path"].startswith("/") for p in doc.get("patches", []))


# --- Kustomize and Helm: exit 3 ---------------------------------------------------------------------

KUSTOMIZE_OK = 'if [ "$1" = version ]; then echo v5.6.0; exit 0; fi\n'
HELM_OK = 'if [ "$1" = version ]; then echo v3.17.0+g1; exit 0; fi\n'

TOOLS = [
    ("kustomize-missing", lambda t: ("--kustomize", "/nonexistent/kustomize"), ("kustomize not found",)),
    ("kustomize-too-old", lambda t: ("--kustomize", fake_tool(t, "kustomize", "echo v4.5.7\n")),
     ("kustomize v4.5.7", "too old", ">= v5.0.0")),
    ("kubectl-too-old", lambda t: ("--kustomize", fake_tool(t, "kubectl", "echo 'Client Version: v1.26.1'\n"
                                                            "echo 'Kustomize Version: v4.5.7'\n")),
     ("kubectl v1.26.1 (Kustomize v4.5.7)", "too old")),
    ("kustomize-no-version", lambda t: ("--kustomize", fake_tool(t, "kustomize", "echo hello\n")),
     ("printed no version",)),
    ("kustomize-fails",
     lambda t: ("--kustomize", fake_tool(t, "kustomize", KUSTOMIZE_OK + "echo 'Error: boom' >&2; exit 1\n")),
     ("failed (exit 1): Error: boom", "was not written")),
    ("kustomize-probe-fails",
     lambda t: ("--kustomize", fake_tool(t, "kustomize", "echo 'Error: broken' >&2; exit 1\n")),
     ("does not work", "Error: broken")),
    ("kustomize-not-executable",
     lambda t: ("--kustomize", fake_tool(t, "kustomize", "").chmod(0o644) or t / "bin" / "kustomize"),
     ("not executable",)),
    ("helm-missing", lambda t: ("--chart", DATA / "tiny-chart", "--helm", "/nonexistent/helm"), ("helm not found",)),
    ("helm-too-old", lambda t: ("--chart", DATA / "tiny-chart", "--helm", fake_tool(t, "helm", "echo v2.17.0\n")),
     ("helm v2.17.0", "too old")),
    ("helm-fails", lambda t: ("--chart", DATA / "tiny-chart", "--helm",
                              fake_tool(t, "helm", HELM_OK + "echo 'Error: chart boom' >&2; exit 1\n")),
     ("template", "failed (exit 1): Error: chart boom")),
]


@pytest.mark.parametrize("force", [False, True], ids=["new-dir", "force-over-existing"])
@pytest.mark.parametrize("make, says", [t[1:] for t in TOOLS], ids=[t[0] for t in TOOLS])
def test_tool_missing_or_failing(cli, tmp_path, make, says, force):
    args = make(tmp_path)
    out = _non_empty(tmp_path) if force else tmp_path / "out"
    tool = str(args[-1])
    refused(cli, tmp_path, write_values(tmp_path, VALID), *args, *(("--force",) if force else ()),
            out=out, code=3, names=(tool,), says=says)


def test_kustomize_from_the_environment_missing(cli, tmp_path, monkeypatch):
    monkeypatch.setenv(tools.KUSTOMIZE_ENV, "/nonexistent/kustomize")
    refused(cli, tmp_path, write_values(tmp_path, VALID), code=3, names=("/nonexistent/kustomize",))


# --- atomicity: a failure anywhere leaves DIR exactly as it was -------------------------------------

def _fail_on(n: int, real, exc: BaseException):
    calls = {"n": 0}

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            raise exc
        return real(*args, **kwargs)

    return failing, calls


def _run_with_existing_output(cli, tmp_path, *args, blank_line_ok=False):
    """Migrate over an existing DIR with --force; DIR and its surroundings must come out unchanged."""
    out = _non_empty(tmp_path)
    values = write_values(tmp_path, VALID)
    before = snapshot(tmp_path)
    result = cli(values, "-o", out, "--force", *args)
    assert snapshot(tmp_path) == before, "DIR changed or a staging directory was left"
    lines = [line for line in result.stderr.splitlines() if line or not blank_line_ok]  # click echoes ^C's newline
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return result


@pytest.mark.parametrize("n", [1, 2])
def test_write_fails_on_the_nth_call(cli, tmp_path, monkeypatch, n):
    monkeypatch.setenv(CACHE_ENV, "off")  # the library part is written too, not taken from the cache
    failing, calls = _fail_on(n, overlay_module.write, OSError(28, "No space left on device"))
    monkeypatch.setattr(overlay_module, "write", failing)
    result = _run_with_existing_output(cli, tmp_path)
    assert calls["n"] == n
    assert result.exit_code == 2
    assert "No space left on device" in result.stderr and "nothing was changed" in result.stderr


@pytest.mark.parametrize("n", [1, 3, 5])
def test_library_copy_fails_on_the_nth_copytree(cli, tmp_path, monkeypatch, n):
    import shutil

    failing, calls = _fail_on(n, shutil.copytree, OSError(5, "Input/output error"))
    monkeypatch.setattr(shutil, "copytree", failing)
    result = _run_with_existing_output(cli, tmp_path)
    # copytree goes on after a failed entry and raises at the end
    assert calls["n"] >= n and result.exit_code == 2 and "Input/output error" in result.stderr


@pytest.mark.parametrize("which", ["exchange", "output-to-backup", "staging-to-output"])
def test_final_rename_fails(cli, tmp_path, monkeypatch, which):
    """The move into place fails: with an atomic exchange (renameat2), and without one (a backup)."""
    real = os.rename

    def exchange(source, target):
        raise OSError(18, "Invalid cross-device link")

    def rename(source, target):
        if which == "output-to-backup" and Path(source).name == "out":
            raise OSError(18, "Invalid cross-device link")
        if which == "staging-to-output" and Path(source).name.endswith(".tmp") and Path(target).name == "out":
            raise OSError(18, "Invalid cross-device link")
        return real(source, target)

    if which == "exchange":
        monkeypatch.setattr(overlay_module, "rename_exchange", exchange)
    else:
        monkeypatch.setattr(overlay_module, "_rename", lambda source, target, how: False)  # no renameat2
        monkeypatch.setattr(overlay_module.os, "rename", rename)
    result = _run_with_existing_output(cli, tmp_path)
    assert result.exit_code == 2 and "Invalid cross-device link" in result.stderr


def test_interrupt_mid_migration(cli, tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, "off")  # two writes: the library part, then the whole overlay
    failing, _ = _fail_on(2, overlay_module.write, KeyboardInterrupt())
    monkeypatch.setattr(overlay_module, "write", failing)
    assert _run_with_existing_output(cli, tmp_path, blank_line_ok=True).exit_code == 130  # "interrupted"


def test_parents_created_for_a_failed_run_are_removed(cli, tmp_path):
    refused(cli, tmp_path, write_values(tmp_path, VALID), "--kustomize", fake_tool(tmp_path, "kustomize",
            KUSTOMIZE_OK + "exit 1\n"), out=tmp_path / "a" / "b" / "out", code=3, names=("kustomize",))
    assert not (tmp_path / "a").exists()


def test_sigterm_leaves_no_staging_directory(tmp_path):
    out = _non_empty(tmp_path)
    slow = fake_tool(tmp_path, "kustomize", KUSTOMIZE_OK + "exec sleep 60\n")
    values = write_values(tmp_path, VALID)
    before = snapshot(tmp_path)
    console_script = "import sys; from migrate.__main__ import main; sys.argv[0] = 'helm-to-kustomize'; main()"
    proc = subprocess.Popen([sys.executable, "-c", console_script, values, "-o", out, "--force", "--kustomize", slow],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not list(tmp_path.glob(".out.*.tmp")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert list(tmp_path.glob(".out.*.tmp")), proc.communicate()
    time.sleep(0.3)  # inside `kustomize build` by now
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM
    assert snapshot(tmp_path) == before


def test_written_overlay_has_the_umask_mode(cli, tmp_path):
    old = os.umask(0o022)
    try:
        assert cli(write_values(tmp_path, VALID), "-o", tmp_path / "out").exit_code == 0
    finally:
        os.umask(old)
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o755


def test_force_keeps_the_replaced_directory_mode_and_a_users_old_dir(cli, tmp_path):
    out = _non_empty(tmp_path)
    out.chmod(0o750)
    (tmp_path / ".out.old").mkdir()
    (tmp_path / ".out.old" / "precious").write_text("mine\n")
    assert cli(write_values(tmp_path, VALID), "-o", out, "--force").exit_code == 0
    assert out.stat().st_mode & 0o777 == 0o750
    assert (tmp_path / ".out.old" / "precious").read_text() == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.old", "out", "values.yaml"]


@pytest.mark.parametrize("content, says", [
    ("decode: {replicas: two}\n", ("decode.replicas", "'two' is not of type 'integer'")),
    # also unmapped: the schema's refusal comes first, as Helm's would
    ("modelArtifacts: {bogus: 1}\n", ("modelArtifacts.bogus", "Helm refuses them")),
], ids=["wrong-type", "extra-key"])
def test_values_the_schema_refuses_are_refused_with_a_render_at_hand(cli, tmp_path, content, says):
    """With a render the schema is checked while Kustomize renders; the refusal is the same."""
    from conftest import FIXTURES

    case = FIXTURES / "pd-disaggregation"
    values = write_values(tmp_path, (case / "values.yaml").read_text() + content)
    refused(cli, tmp_path, values, "--release", "pd", "--verify-against", case / "manifest.yaml", says=says)
