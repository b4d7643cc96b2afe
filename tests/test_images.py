"""Image changes go to the overlay's images: where Kustomize can say them."""

from __future__ import annotations

import yaml

from conftest import ROOT
from migrate import images, tools

ALL = ROOT / "fixtures" / "llm-d-modelservice"


def test_an_image_reference_splits_into_name_tag_and_digest():
    assert images.split("ghcr.io/llm-d/x:v1") == ("ghcr.io/llm-d/x", "v1", None)
    assert images.split("localhost:5000/x") == ("localhost:5000/x", None, None)
    assert images.split("a/b:1@sha256:ab") == ("a/b", "1", "sha256:ab")


def test_an_entry_says_only_what_changes_and_nothing_kustomize_cannot():
    assert images.entry("ghcr.io/a/b:latest", "ghcr.io/a/b:v0.2.0") == {"name": "ghcr.io/a/b", "newTag": "v0.2.0"}
    assert images.entry("a:1", "c/d:2") == {"name": "a", "newName": "c/d", "newTag": "2"}
    assert images.entry("a:1", "a@sha256:ff") == {"name": "a", "digest": "sha256:ff"}
    assert images.entry("a:1", "b") is None  # Kustomize cannot drop a tag
    assert images.entry("a:1", "a:1") is None


def test_one_library_image_on_two_new_images_stays_in_patches():
    def pod(image: str) -> dict:
        return {"spec": {"template": {"spec": {"containers": [{"name": "x", "image": image}]}}}}

    ops = [{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "a:2"}]
    same = images.plan([(pod("a:1"), pod("a:2"), ops), (pod("a:1"), pod("a:2"), ops)], [])
    assert same[0] == [{"name": "a", "newTag": "2"}] and len(same[1]) == 2
    other = [{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "a:3"}]
    assert images.plan([(pod("a:1"), pod("a:2"), ops), (pod("a:1"), pod("a:3"), other)], []) == ([], set())
    assert images.plan([(pod("a:1"), pod("a:2"), ops)], [pod("a:1")]) == ([], set())  # objects.yaml runs it too
    # another container Helm runs on an image of that name (set by a patch) would be rewritten too
    both = {"spec": {"template": {"spec": {"containers": [{"name": "x", "image": "a:1"}, {"name": "y", "image": "b:1"}]}}}}
    helm = {"spec": {"template": {"spec": {"containers": [{"name": "x", "image": "a:2"}, {"name": "y", "image": "a:9"}]}}}}
    patched = ops + [{"op": "replace", "path": "/spec/template/spec/containers/1/image", "value": "a:9"}]
    assert images.plan([(both, helm, patched)], [])[0] == [{"name": "b", "newName": "a", "newTag": "9"}]


def test_an_old_release_s_proxy_image_is_one_images_entry(cli, tmp_path, kustomize_bin):
    case = ALL / "v0.2.9" / "feature-scheduling"
    result = cli(case / "values.yaml", "-o", tmp_path / "sched", "--namespace", "default",
                 "--verify-against", case / "manifest.yaml")
    assert result.exit_code == 0, result.stderr
    kustomization = yaml.safe_load((tmp_path / "sched" / "kustomization.yaml").read_text())
    assert {"name": "ghcr.io/llm-d/llm-d-routing-sidecar", "newTag": "v0.2.0"} in kustomization["images"]
    patched = [op for p in (tmp_path / "sched" / "patches").glob("*.yaml") for op in yaml.safe_load(p.read_text())
               if isinstance(op, dict) and str(op.get("path", "")).endswith("/initContainers/0/image")]
    assert patched == []
    built = list(yaml.safe_load_all(tools.kustomize_build(tmp_path / "sched", kustomize_bin)))
    proxy = [c["image"] for o in built if o["kind"] == "Deployment"
             for c in o["spec"]["template"]["spec"].get("initContainers", [])]
    assert proxy == ["ghcr.io/llm-d/llm-d-routing-sidecar:v0.2.0"]
