"""Model artifacts: URI schemes, the model volume and mount, the MODEL arg and the HF env
(CHART-BEHAVIOUR §10)."""

from __future__ import annotations

from typing import Any

from migrate.chart.gotmpl import default, field, go_print, truthy
from migrate.errors import ChartRefusal

MODEL_VOLUME = "model-storage"
HF_HUB_PREFIX = "/model-cache"


def split_uri(values: dict[str, Any]) -> tuple[str, str]:
    """(scheme, rest) of ``modelArtifacts.uri``: the first and last pieces around ``://``."""
    uri = field(values, "modelArtifacts.uri")
    if not isinstance(uri, str):
        raise ChartRefusal(
            f"modelArtifacts.uri must be a string, got {go_print(uri)!r} (Helm refuses to "
            "render: regexSplit expects a string); set a URI such as hf://org/model",
            key="modelArtifacts.uri",
        )
    pieces = uri.split("://")
    return pieces[0], pieces[-1]


def pvc_hf_segments(rest: str) -> tuple[str, str, str]:
    """For ``pvc+hf://``: (claim, HF hub cache sub-path, ``namespace/model``)."""
    segments = rest.split("/")
    if len(segments) < 3:
        raise ChartRefusal(
            "error calling slice: slice index out of bounds (Helm refuses to render); a "
            "pvc+hf:// URI needs at least <claim>/<namespace>/<model>",
            key="modelArtifacts.uri",
        )
    return segments[0], "/".join(segments[1:-2]), f"{segments[-2]}/{segments[-1]}"


def model_volume_text(values: dict[str, Any]) -> str:
    """The ``model-storage`` pod volume as the chart writes it ("" when the scheme has none)."""
    scheme, rest = split_uri(values)
    artifacts = field(values, "modelArtifacts")
    if scheme == "hf":
        size = go_print(default("0", artifacts.get("size")))
        return f"- name: {MODEL_VOLUME}\n  emptyDir:\n    sizeLimit: {size}\n"
    if scheme.startswith("pvc"):
        claim = rest.split("/")[0]
        read_only = go_print(artifacts.get("readOnly"))
        return (
            f"- name: {MODEL_VOLUME}\n  persistentVolumeClaim:\n    claimName: {claim}\n"
            f"    readOnly: {read_only}"
        )
    if scheme == "oci":
        policy = go_print(default("Always", artifacts.get("imagePullPolicy")))
        return (
            f"\n- name: {MODEL_VOLUME}\n  image:\n    reference: {rest}\n"
            f"    pullPolicy: {policy}"
        )
    return ""


def model_mount_text(values: dict[str, Any]) -> str:
    """The model mount entry added to a container with ``mountModelVolume``."""
    scheme, _ = split_uri(values)
    mount_path = go_print(field(values, "modelArtifacts.mountPath"))
    text = f"\n  - name: {MODEL_VOLUME}\n    mountPath: {mount_path}"
    if scheme == "oci":
        text += "\n    readOnly: true"
    elif scheme.startswith("pvc"):
        text += f"\n    readOnly: {go_print(field(values, 'modelArtifacts.readOnly'))}"
    return text


def hf_env_text(values: dict[str, Any], container: dict[str, Any]) -> str:
    """HF_HOME / HF_HUB_CACHE and HF_TOKEN entries (each starting with a newline)."""
    scheme, rest = split_uri(values)
    mounts = truthy(container.get("mountModelVolume"))
    text = ""
    if "hf" in scheme:
        if scheme == "hf" and mounts:
            mount_path = go_print(field(values, "modelArtifacts.mountPath"))
            text += f"\n- name: HF_HOME\n  value: {mount_path}"
        if scheme == "pvc+hf":
            _, cache, _ = pvc_hf_segments(rest)
            if mounts:
                text += f"\n- name: HF_HUB_CACHE\n  value: {HF_HUB_PREFIX}/{cache}"
    secret = field(values, "modelArtifacts.authSecretName")
    if truthy(secret):
        text += (
            f"\n- name: HF_TOKEN\n  valueFrom:\n    secretKeyRef:\n      name: {go_print(secret)}"
            "\n      key: HF_TOKEN"
        )
    return text


def model_arg_texts(values: dict[str, Any], rendered_hf_rest: str | None) -> list[str] | None:
    """The MODEL arg text(s) for vllmServe/imageDefault: a one-item list, [] when the scheme
    gives none. ``rendered_hf_rest`` is the template-rendered rest of an ``hf://`` URI."""
    scheme, rest = split_uri(values)
    if scheme == "hf":
        return [rendered_hf_rest if rendered_hf_rest is not None else rest]
    if scheme == "pvc":
        path = rest.split("/", 1)[-1]
        return [f"{go_print(field(values, 'modelArtifacts.mountPath'))}/{path}"]
    if scheme == "pvc+hf":
        segments = rest.split("/")
        if len(segments) < 2:
            raise ChartRefusal(
                "error calling index: index out of range (Helm refuses to render); a "
                "pvc+hf:// URI needs at least <claim>/<namespace>/<model>",
                key="modelArtifacts.uri",
            )
        return [f"{segments[-2]}/{segments[-1]}"]
    if scheme == "oci":
        raise ChartRefusal(
            "arguments for oci:// not implemented (Helm refuses to render); use "
            "modelCommand: custom with your own command and args for an oci:// model",
            key="modelArtifacts.uri",
        )
    return []
