"""Many overlays in few Kustomize processes (migrate.fleetbuild), through real Kustomize: every
overlay gets exactly what its own build gives, whatever its neighbours in the combined build."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from migrate import fleetbuild, tools
from migrate.errors import ToolError

ROLE_BINDING = """apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: rb
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}
subjects:
- {kind: ServiceAccount, name: app}
"""
SERVICE_ACCOUNT = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: app\n"
DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations: {team: a}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: app
      containers:
      - name: c
        image: nginx
        envFrom: [{configMapRef: {name: settings}}]
"""


def overlay(root: Path, name: str, kustomization: str, **files: str) -> Path:
    directory = root / name
    directory.mkdir(parents=True)
    (directory / "kustomization.yaml").write_text(kustomization)
    for file, text in files.items():
        (directory / file.replace("_", ".")).write_text(text)
    return directory


def app(root: Path, name: str, *, prefix: str | None = None, namespace: str | None = None, extra: str = "") -> Path:
    """An overlay with a ServiceAccount, a Deployment using it and a hashed ConfigMap it reads."""
    head = "".join(f"{k}: {v}\n" for k, v in (("namePrefix", prefix), ("namespace", namespace)) if v)
    return overlay(root, name, head + "resources: [sa.yaml, deploy.yaml, rb.yaml]\n"
                   "configMapGenerator:\n- name: settings\n  literals: [mode=" + name + "]\n" + extra,
                   sa_yaml=SERVICE_ACCOUNT, deploy_yaml=DEPLOYMENT, rb_yaml=ROLE_BINDING)


def objects(text: str) -> list[dict]:
    return sorted((d for d in yaml.safe_load_all(text) if d),
                  key=lambda d: (d["kind"], d["metadata"]["name"], d["metadata"].get("namespace", "")))


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[list[str]]]:
    """The Kustomize commands run (each its argv)."""
    seen: list[list[str]] = []
    original = tools.run

    def counting(cmd, **kwargs):  # type: ignore[no-untyped-def]
        seen.append([str(c) for c in cmd])
        return original(cmd, **kwargs)

    monkeypatch.setattr(tools, "run", counting)
    yield seen


def alone(directories: list[Path]) -> list[object]:
    out: list[object] = []
    for directory in directories:
        try:
            out.append(objects(tools.kustomize_build(directory)))
        except ToolError as exc:
            out.append(str(exc))
    return out


def results(built: list[object]) -> list[object]:
    return [objects(r) if isinstance(r, str) else str(r) for r in built]


def test_one_build_gives_every_overlay_its_own_objects(tmp_path: Path, runs: list) -> None:
    directories = [app(tmp_path, f"a{n}", prefix=f"a{n}-", namespace=f"ns{n % 2}") for n in range(5)]
    built = fleetbuild.build_all(directories)
    assert len(runs) == 1 and "h2k-fleet-" in runs[0][-1]  # one Kustomize process, in a temporary directory
    assert not Path(runs[0][-1]).exists()
    assert results(built) == alone(directories)
    first = objects(built[0])  # names, the hash suffix and the references as the overlay's own build has them
    deployment = next(o for o in first if o["kind"] == "Deployment")
    assert deployment["metadata"]["annotations"] == {"team": "a"}  # the marking annotation is gone again
    assert all("annotations" not in o["metadata"] for o in first if o["kind"] != "Deployment")
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == "a0-app"
    assert deployment["spec"]["template"]["spec"]["containers"][0]["envFrom"][0]["configMapRef"]["name"] \
        .startswith("a0-settings-")
    assert not list(tmp_path.glob("**/h2k-*"))  # nothing written into the overlays' tree


def test_an_overlay_kustomize_refuses_gets_the_error_of_its_own_build(tmp_path: Path, runs: list) -> None:
    good = [app(tmp_path, f"g{n}", prefix=f"g{n}-") for n in range(5)]
    broken = overlay(tmp_path, "broken", "namePrefix: b-\nresources: [missing.yaml]\n")
    directories = [*good[:3], broken, *good[3:]]
    built = fleetbuild.build_all(directories)
    combined = len(runs)
    assert isinstance(built[3], ToolError)
    with pytest.raises(ToolError) as own:
        tools.kustomize_build(broken)
    assert str(built[3]) == str(own.value)
    assert results(built) == alone(directories)
    assert combined == 5  # all six; halves of three; the broken one alone and the other two


def test_overlays_whose_objects_would_clash_are_built_apart(tmp_path: Path, runs: list) -> None:
    directories = [app(tmp_path, "same-a", prefix="x-", namespace="a"),  # the same names in two namespaces
                   app(tmp_path, "same-b", prefix="x-", namespace="b"),
                   app(tmp_path, "bare-a", namespace="c"),  # no prefix in one namespace: the same ids
                   app(tmp_path, "bare-b", namespace="c")]
    built = fleetbuild.build_all(directories)
    combined = len(runs)
    assert results(built) == alone(directories)
    assert combined == 2  # {same-a, bare-a} and {same-b, bare-b}: no failed build, nothing built twice


def test_a_reference_kustomize_points_across_overlays_is_built_again_alone(tmp_path: Path, runs: list) -> None:
    # `refers` names a ServiceAccount it does not have; Kustomize, finishing the combined build,
    # would point it at `owner`'s ServiceAccount of that original name.
    refers = overlay(tmp_path, "refers", "namespace: shared\nresources: [rb.yaml]\n", rb_yaml=ROLE_BINDING)
    owner = overlay(tmp_path, "owner", "namespace: shared\nnameSuffix: -x\nresources: [sa.yaml]\n"
                    "patches:\n- target: {kind: ServiceAccount, name: app}\n  patch: |-\n"
                    "    - {op: replace, path: /metadata/name, value: o-app}\n", sa_yaml=SERVICE_ACCOUNT)
    built = fleetbuild.build_all([refers, owner])
    combined = len(runs)
    assert results(built) == alone([refers, owner])
    assert objects(built[0])[0]["subjects"] == [{"kind": "ServiceAccount", "name": "app"}]
    assert combined == 2  # the combined build, then `refers` alone (`owner` kept its result)


def test_overlays_with_other_build_wide_settings_are_not_combined(tmp_path: Path) -> None:
    plain = app(tmp_path, "plain", prefix="p-")
    (tmp_path / "custom").mkdir()
    (tmp_path / "custom" / "refs.yaml").write_text("nameReference:\n- kind: ServiceAccount\n  fieldSpecs:\n"
                                                   "  - {kind: Widget, path: spec/account}\n")
    configured = app(tmp_path / "custom", "configured", prefix="c-", extra="configurations: [../refs.yaml]\n")
    with_vars = app(tmp_path, "with-vars", prefix="v-",
                    extra="vars:\n- name: SA\n  objref: {kind: ServiceAccount, name: app, apiVersion: v1}\n")
    shapes = fleetbuild._Shapes()
    members = [fleetbuild._Member(i, d, shapes.of(d)) for i, d in enumerate([plain, configured, with_vars])]
    assert [[m.directory.name for m in g] for g in fleetbuild.groups_of(members, 10)] == \
        [["plain"], ["configured"], ["with-vars"]]
    assert members[2].shape.alone
    assert results(fleetbuild.build_all([plain, configured, with_vars])) == alone([plain, configured, with_vars])


def test_an_overlay_that_sets_what_only_a_root_applies_is_built_alone(tmp_path: Path) -> None:
    """sortOptions is applied only at the root of a build: listed under a generated root, the
    overlay would print its objects in another order."""
    plain = app(tmp_path, "plain", prefix="p-")
    fifo = overlay(tmp_path, "fifo", "namePrefix: f-\nresources: [z.yaml, a.yaml]\nsortOptions:\n  order: fifo\n",
                   z_yaml="apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: z\n",
                   a_yaml="apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n")
    shapes = fleetbuild._Shapes()
    assert shapes.of(fifo).alone and not shapes.of(plain).alone
    built = fleetbuild.build_all([plain, fifo])
    assert built[1] == tools.kustomize_build(fifo)
    assert [d["metadata"]["name"] for d in yaml.safe_load_all(built[1])] == ["f-z", "f-a"]  # as listed


def test_an_overlay_that_cannot_be_read_is_built_alone(tmp_path: Path) -> None:
    good = app(tmp_path, "good", prefix="g-")
    unreadable = overlay(tmp_path, "unreadable", "resources: [\n")
    missing = tmp_path / "missing"
    built = fleetbuild.build_all([good, unreadable, missing])
    assert isinstance(built[1], ToolError)
    assert "overlay directory not found" in str(built[2])
    assert objects(built[0]) == objects(tools.kustomize_build(good))


def test_output_that_cannot_be_told_apart_is_refused() -> None:
    mark = "h2k-0.fleet.helm-to-kustomize.io/overlay"
    marked = f"kind: A\nmetadata:\n  annotations:\n    {mark}: m0\n  name: a\n"
    assert fleetbuild.split(marked, mark, 1) == ["kind: A\nmetadata:\n  name: a\n"]
    for text in ("kind: A\nmetadata:\n  name: a\n",  # unmarked
                 f"kind: A\nmetadata:\n  annotations: {{{mark}: m0}}\n  name: a\n",  # flow style
                 marked.replace("m0", "m3")):  # no such overlay
        with pytest.raises(fleetbuild._Unsplittable):
            fleetbuild.split(text, mark, 1)


def test_the_batcher_builds_what_waiting_threads_need_together(tmp_path: Path, runs: list) -> None:
    directories = [app(tmp_path, f"t{n}", prefix=f"t{n}-") for n in range(4)]
    batcher = fleetbuild.Batcher()
    out: dict[int, str] = {}
    for _ in directories:
        batcher.enter()  # all four run before any asks for a render

    def migration(n: int) -> None:
        try:
            out[n] = batcher.build(directories[n])
        finally:
            batcher.leave()

    threads = [threading.Thread(target=migration, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(runs) == 1 and "h2k-fleet-" in runs[0][-1]
    assert [objects(out[n]) for n in range(4)] == alone(directories)


def test_the_batcher_hands_each_waiting_thread_its_own_error(tmp_path: Path) -> None:
    good = app(tmp_path, "good", prefix="g-")
    broken = overlay(tmp_path, "broken", "resources: [missing.yaml]\n")
    batcher = fleetbuild.Batcher()
    errors: dict[str, BaseException] = {}
    texts: dict[str, str] = {}
    batcher.enter()
    batcher.enter()

    def migration(directory: Path) -> None:
        try:
            texts[directory.name] = batcher.build(directory)
        except ToolError as exc:
            errors[directory.name] = exc
        finally:
            batcher.leave()

    threads = [threading.Thread(target=migration, args=(d,)) for d in (good, broken)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert set(texts) == {"good"} and set(errors) == {"broken"}
    assert "missing.yaml" in str(errors["broken"])


def test_the_batcher_renders_directories_of_one_content_once(tmp_path: Path, runs: list) -> None:
    body = "namePrefix: same-\nresources: [sa.yaml]\n"
    one = overlay(tmp_path, "one", "# Command: helm-to-kustomize ... --release one\n" + body, sa_yaml=SERVICE_ACCOUNT)
    two = overlay(tmp_path, "two", "# Command: helm-to-kustomize ... --release two\n" + body, sa_yaml=SERVICE_ACCOUNT)
    # a file a generator reads is data, comments and all: not the same content
    data = "configMapGenerator:\n- name: c\n  files: [app.conf]\n"
    three = overlay(tmp_path, "three", data, app_conf="# one\nx=1\n")
    four = overlay(tmp_path, "four", data, app_conf="# four\nx=1\n")
    batcher = fleetbuild.Batcher()
    assert batcher.build(one) == batcher.build(two) == tools.kustomize_build(one)
    assert len(runs) == 2  # one for both, and the check
    assert "# four" in batcher.build(four) and "# one" in batcher.build(three)


def test_a_clash_nothing_predicted_is_resolved_by_halving(tmp_path: Path, runs: list) -> None:
    cluster_role = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: shared\nrules: []\n"
    first = overlay(tmp_path, "first", "namespace: a\nresources: [role.yaml]\n", role_yaml=cluster_role)
    second = overlay(tmp_path, "second", "namespace: b\nresources: [role.yaml]\n", role_yaml=cluster_role)
    built = fleetbuild.build_all([first, second])
    combined = len(runs)
    assert results(built) == alone([first, second])  # both build on their own: no error for either
    assert combined == 3  # together (refused: one ClusterRole twice), then each alone


def test_a_combined_build_that_is_stopped_is_built_again_overlay_by_overlay(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directories = [app(tmp_path, f"s{n}", prefix=f"s{n}-") for n in range(3)]
    original = tools.kustomize_build

    def stopped_when_combined(directory, kustomize=None):  # type: ignore[no-untyped-def]
        if "h2k-fleet-" in str(directory):
            raise tools.CommandStopped("`kustomize build` did not finish within 1s and was stopped")
        return original(directory, kustomize)

    monkeypatch.setattr(tools, "kustomize_build", stopped_when_combined)
    assert results(fleetbuild.build_all(directories)) == alone(directories)
