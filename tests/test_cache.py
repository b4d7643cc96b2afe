"""The on-disk cache (library renders, version probes) and the literal markers that make a
library render independent of the release's literal values."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from conftest import FIXTURES
from migrate import cache, tools
from migrate.markers import Markers

CASE = FIXTURES / "pd-disaggregation"


def _logging_kubectl(tmp_path: Path, kustomize_bin: str) -> tuple[Path, Path]:
    """A kubectl that logs each call, then runs the real one."""
    log = tmp_path / "calls.log"
    wrapper = tmp_path / "bin" / "kubectl"
    wrapper.parent.mkdir(parents=True)
    wrapper.write_text(f'#!/bin/sh\necho "$1" >> "{log}"\nexec "{kustomize_bin}" "$@"\n')
    wrapper.chmod(0o755)
    return wrapper, log


def _builds(log: Path) -> int:
    return log.read_text().split().count("kustomize") if log.exists() else 0


def _migrate(cli, out: Path, *args) -> None:
    result = cli(CASE / "values.yaml", "-o", out, "--release", "pd", "--namespace", "default",
                 "--verify-against", CASE / "manifest.yaml", *args)
    assert result.exit_code == 0, result.stderr


def _files(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def _without_header(files: dict[str, bytes]) -> dict[str, bytes]:
    """The overlay's files, the kustomization without its comment header (it names -o DIR)."""
    text = files["kustomization.yaml"].decode()
    return {**files, "kustomization.yaml": "\n".join(l for l in text.splitlines() if not l.startswith("#")).encode()}


def test_second_migration_takes_the_library_render_from_the_cache(cli, tmp_path, kustomize_bin, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    tools.clear_cache()
    kubectl, log = _logging_kubectl(tmp_path, kustomize_bin)
    _migrate(cli, tmp_path / "cold", "--kustomize", kubectl)
    cold = _builds(log)
    log.unlink()
    _migrate(cli, tmp_path / "warm", "--kustomize", kubectl)
    assert (cold, _builds(log)) == (2, 1)  # the library part, then the overlay; then the overlay only
    monkeypatch.setenv(cache.CACHE_ENV, "off")
    _migrate(cli, tmp_path / "uncached", "--kustomize", kubectl)
    expected = _without_header(_files(tmp_path / "uncached"))
    assert _without_header(_files(tmp_path / "warm")) == expected == _without_header(_files(tmp_path / "cold"))


def test_cache_off_writes_nothing(cli, tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    _migrate(cli, tmp_path / "out")
    assert not (tmp_path / "xdg").exists()


def test_default_location_follows_xdg(tmp_path, monkeypatch):
    monkeypatch.delenv(cache.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache.cache_dir() == tmp_path / "helm-to-kustomize"


def test_an_unusable_cache_never_fails_a_run(cli, tmp_path, monkeypatch):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    monkeypatch.setenv(cache.CACHE_ENV, str(blocked))
    tools.clear_cache()
    _migrate(cli, tmp_path / "out")
    assert blocked.read_text() == "not a directory"


@pytest.mark.parametrize("damage", [
    lambda text: text[: len(text) // 2].encode(),  # cut short: valid YAML, wrong objects
    lambda text: text.encode()[:-3] + b"{[",  # not YAML
    lambda text: b"\xff\xfe" + text.encode(),  # not UTF-8
])
def test_a_corrupt_entry_is_rendered_again(cli, tmp_path, monkeypatch, damage):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    _migrate(cli, tmp_path / "first")
    for entry in (tmp_path / "cache" / "renders").iterdir():
        entry.write_bytes(damage(entry.read_text()))
    _migrate(cli, tmp_path / "second")
    assert _without_header(_files(tmp_path / "second")) == _without_header(_files(tmp_path / "first"))


@pytest.mark.parametrize("size", [100, cache._LARGE + 1], ids=["small", "large"])
def test_an_entry_reads_back_whole_and_a_changed_byte_removes_it(tmp_path, monkeypatch, size):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    body = os.urandom(size)
    cache.write_bytes("test", "entry", body)
    assert cache.read_bytes("test", "entry") == body
    entry = tmp_path / "cache" / "test" / "entry"
    raw = bytearray(entry.read_bytes())
    raw[-1] ^= 1  # the same length, one bit of the body changed
    entry.write_bytes(bytes(raw))
    assert cache.read_bytes("test", "entry") is None
    assert not entry.exists()


def test_the_entry_digest_is_sha256_however_it_is_taken():
    import hashlib

    for data in (b"", b"abc", os.urandom(cache._LARGE + 1)):
        assert cache.bytes_digest(data) == hashlib.sha256(data).hexdigest() == cache.sha256(data).hexdigest()


def test_library_digest_changes_with_any_file(tmp_path):
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "kustomization.yaml").write_text("resources: []\n")
    before = cache.tree_digest(tmp_path)
    cache.tree_digest.cache_clear()
    (tmp_path / "base" / "kustomization.yaml").write_text("resources: [a.yaml]\n")
    assert cache.tree_digest(tmp_path) != before
    cache.tree_digest.cache_clear()


def _fresh_digest(root: Path) -> str:
    """The tree's digest as a new process computes it (the kept file digests on disk only)."""
    cache.tree_digest.cache_clear()
    try:
        return cache.tree_digest(root)
    finally:
        cache.tree_digest.cache_clear()


def test_library_digest_kept_per_file_sees_every_change(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    tree = tmp_path / "library"
    (tree / "base").mkdir(parents=True)
    first, second = tree / "base" / "kustomization.yaml", tree / "base" / "a.yaml"
    first.write_text("resources: [a.yaml]\n")
    second.write_text("kind: A\n")
    old = 1_600_000_000
    for path in (first, second):
        os.utime(path, (old, old))  # older than the racy window: their kept digests are trusted
    original = _fresh_digest(tree)
    assert list((tmp_path / "cache" / "trees").iterdir())
    assert _fresh_digest(tree) == original
    # the same size, another modification time
    second.write_text("kind: B\n")
    os.utime(second, (old + 10, old + 10))
    changed = _fresh_digest(tree)
    assert changed != original
    # the same size and modification time, but written just now: such a file is read again
    second.write_text("kind: C\n")
    assert _fresh_digest(tree) not in (original, changed)
    second.unlink()
    assert _fresh_digest(tree) not in (original, changed)


def test_library_digest_follows_every_link_and_stops_at_a_loop(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    shared, other = tmp_path / "shared", tmp_path / "other"
    for directory in (shared, other):
        directory.mkdir()
        (directory / "patch.yaml").write_text(f"kind: {directory.name}\n")
    tree = tmp_path / "library"
    (tree / "base").mkdir(parents=True)
    (tree / "base" / "kustomization.yaml").write_text("resources: []\n")
    (tree / "base" / "a").symlink_to(shared)  # Kustomize reads through the link
    seen = {_fresh_digest(tree)}

    def changed() -> None:
        digest = _fresh_digest(tree)
        assert digest not in seen
        seen.add(digest)

    (shared / "patch.yaml").write_text("kind: edited\n")
    changed()
    (tree / "base" / "b").symlink_to(shared)  # a second link to the same directory
    changed()
    (tree / "base" / "b").unlink()
    (tree / "base" / "b").symlink_to(other)
    changed()
    (tree / "base" / "loop").symlink_to(tree / "base")  # a link back up: counted, not walked
    changed()
    assert _fresh_digest(tree) in seen  # and the loop ends
    (tree / "base" / "a").unlink()
    changed()


def test_a_damaged_kept_tree_digest_is_made_again(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    (tmp_path / "library").mkdir()
    (tmp_path / "library" / "kustomization.yaml").write_text("resources: []\n")
    os.utime(tmp_path / "library" / "kustomization.yaml", (1_600_000_000, 1_600_000_000))
    expected = _fresh_digest(tmp_path / "library")
    for entry in (tmp_path / "cache" / "trees").iterdir():
        body = json.dumps({"at": 1_700_000_000_000_000_000, "files": {"kustomization.yaml": [1, 2, 3, 4, "0" * 64]}})
        cache.write("trees", entry.name, body)  # a well-formed entry that lies about the file
        cache.write("trees", entry.name + "x", "not json")
    assert _fresh_digest(tmp_path / "library") == expected
    cache.write("trees", next((tmp_path / "cache" / "trees").iterdir()).name, "[1, 2]")
    assert _fresh_digest(tmp_path / "library") == expected


def test_a_replaced_program_is_probed_again(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    helm = tmp_path / "helm"
    helm.write_text('#!/bin/sh\necho "v3.15.0+gabc"\n')
    helm.chmod(0o755)
    tools.clear_cache()
    assert tools.find_helm(str(helm)).version == "v3.15.0"
    helm.write_text('#!/bin/sh\necho "v3.16.10+gabcdef"\n')
    os.utime(helm, ns=(1, 1))
    tools.clear_cache()
    assert tools.find_helm(str(helm)).version == "v3.16.10"
    tools.clear_cache()


# --- markers ------------------------------------------------------------------------------------


LITERALS = {"modelName": "meta-llama/Llama-3.1-8B", "modelUri": "hf://meta-llama/Llama-3.1-8B",
            "modelSize": "20Gi", "modelLabel": "", "quote": 'a"b'}


def test_markers_keep_every_delimiter_and_restore_the_values():
    markers = Markers(LITERALS)
    for name, value in LITERALS.items():
        marked = markers.marked[name]
        assert [c for c in marked if not c.isalnum()] == [c for c in value if not c.isalnum()] or not value
        assert markers.restore(marked) == value
    # a replacement may copy one part of a split value: each part restores on its own
    assert markers.restore(markers.marked["modelName"].split("/")[0]) == "meta-llama"
    assert markers.restore(markers.marked["modelUri"].split("://")[1]) == "meta-llama/Llama-3.1-8B"


def test_markers_restore_inside_parsed_objects_only_their_own_tokens():
    markers = Markers({"modelName": "org/model"})
    rendered = {"spec": {"args": ["--served-model-name", markers.marked["modelName"]], "other": "h2k9m9x"},
                "n": 3}
    assert markers.restore(rendered) == {"spec": {"args": ["--served-model-name", "org/model"], "other": "h2k9m9x"},
                                         "n": 3}


@pytest.mark.parametrize("survivors, live", [
    ([], set()),
    (["modelName"], {"modelName"}),
    (["modelName", "modelSize"], {"modelName", "modelSize"}),
])
def test_live_literals_are_those_whose_tokens_survive(survivors, live):
    markers = Markers(LITERALS)
    objects = [{"kind": "Deployment", "data": [markers.marked[name] for name in survivors], "x": "plain"}]
    assert markers.live(json.loads(json.dumps(objects))) == live


def test_releases_on_the_same_building_blocks_share_one_library_render(cli, tmp_path, kustomize_bin, monkeypatch):
    """namePrefix and namespace are rendered as tokens, so another release in another namespace
    takes the library render from the cache, and still gets its own names and namespace."""
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    kubectl, log = _logging_kubectl(tmp_path, kustomize_bin)
    calls = []
    for release, namespace in (("first", "team-a"), ("second", "team-b")):
        out = tmp_path / release
        result = cli(CASE / "values.yaml", "-o", out, "--release", release, "--namespace", namespace,
                     "--kustomize", kubectl)
        assert result.exit_code == 0, result.stderr
        calls.append(_builds(log))
        built = list(yaml.safe_load_all(tools.kustomize_build(out, kustomize_bin)))
        assert {o["metadata"]["name"] for o in built} >= {f"{release}-llm-d-modelservice-decode",
                                                          f"{release}-llm-d-modelservice-prefill"}
        assert {o["metadata"].get("namespace") for o in built} == {namespace}
        assert "h2k" not in yaml.safe_dump_all(built)
    assert calls == [2, 3]  # the second release: its overlay only


def test_the_same_build_unpacked_elsewhere_shares_the_renders(cli, tmp_path, kustomize_bin, monkeypatch):
    """A CI runner unpacks the same kubectl anew each run (new path, new mtime): the restored
    cache still serves it."""
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    first, first_log = _logging_kubectl(tmp_path / "run1", kustomize_bin)
    _migrate(cli, tmp_path / "one", "--kustomize", first)
    os.utime(first, ns=(10**18, 10**18))
    second = tmp_path / "run2" / "bin" / "kubectl"
    second.parent.mkdir(parents=True)
    log = tmp_path / "run2" / "calls.log"
    second.write_text(first.read_text().replace(str(first_log), str(log)))  # same size: run1 -> run2
    second.chmod(0o755)
    _migrate(cli, tmp_path / "two", "--kustomize", second)
    assert _builds(log) == 1


def test_a_program_is_probed_once_per_build(tmp_path, kustomize_bin, monkeypatch):
    """A real program's version comes from the cache in the next process (here: a fresh
    in-process cache, and a probe that would fail)."""
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    tools.clear_cache()
    first = tools.find_kustomize(kustomize_bin)
    tools.clear_cache()
    real_run = tools.run
    monkeypatch.setattr(tools, "run", lambda cmd, **kw: pytest.fail(f"probed again: {cmd}") if "version" in cmd
                        else real_run(cmd, **kw))
    assert tools.find_kustomize(kustomize_bin) == first
    tools.clear_cache()


def test_a_script_is_probed_every_time(tmp_path, monkeypatch):
    """A version manager's shim stays the same file while the program behind it changes."""
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    shim = tmp_path / "helm"
    shim.write_text('#!/bin/sh\necho "v$SHIMMED_VERSION"\n')
    shim.chmod(0o755)
    versions = []
    for version in ("3.15.0", "3.16.1"):
        monkeypatch.setenv("SHIMMED_VERSION", version)
        tools.clear_cache()
        versions.append(tools.find_helm(str(shim)).version)
    assert versions == ["v3.15.0", "v3.16.1"]
    tools.clear_cache()


def test_an_unreadable_file_in_the_library_does_not_fail_the_digest(tmp_path):
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "kustomization.yaml").write_text("resources: []\n")
    (tmp_path / "base" / ".#lock").symlink_to(tmp_path / "nowhere")
    assert cache.tree_digest(tmp_path, ("base",))
    cache.tree_digest.cache_clear()
