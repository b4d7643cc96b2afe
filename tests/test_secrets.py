"""Credentials in the values are never copied where they do not belong.

A plain-text credential (an env ``value`` named like a token, secret or password, a flag like
``--api-key KEY``, a Secret in ``extraObjects``) must reach the workloads exactly as Helm
renders it, so it stays in the one patch or object file that carries it. It never goes into a
``model-config`` literal, a ``kustomization.yaml`` comment, the text or JSON report or stderr,
and a warning names its path (never its value). ``modelArtifacts.authSecretName`` names a
Secret, which is the right way: it is referenced (``secretKeyRef``), never inlined, and draws
no warning.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from migrate import tools

SECRET = "hf_s3cr3tVALUEdoNotCopy"
IMAGE = "    image: ghcr.io/llm-d/llm-d-inference-sim:latest\n    modelCommand: imageDefault\n"


def migrate(cli, tmp_path: Path, values: str, *args: str):
    path = tmp_path / "values.yaml"
    path.write_text(values)
    out, report = tmp_path / "out", tmp_path / "report.json"
    result = cli(path, "-o", out, "--report", report, *args)
    assert result.exit_code == 0, result.stderr
    return result, out, json.loads(report.read_text())


def kustomization(out: Path) -> dict:
    return yaml.safe_load((out / "kustomization.yaml").read_text())


def files_holding(out: Path, text: str) -> list[str]:
    """The overlay's own files (not the copied library) that contain ``text``."""
    return sorted(str(p.relative_to(out)) for p in out.rglob("*")
                  if p.is_file() and not p.relative_to(out).parts[0] == "library" and text in p.read_text())


# (id, values, the path the warning must name, the file that must carry the value)
CARRIERS = [
    ("env-hf-token", f"decode:\n  containers:\n  - name: vllm\n{IMAGE}    env:\n    - name: HF_TOKEN\n"
     f"      value: {SECRET}\n", "decode.containers[0].env[0].value", "patches/decode-env.yaml"),
    ("env-password-prefill", f"prefill:\n  replicas: 1\n  containers:\n  - name: vllm\n{IMAGE}    env:\n"
     f"    - name: PLAIN\n      value: x\n    - name: DB_PASSWORD\n      value: {SECRET}\n",
     "prefill.containers[0].env[1].value", "patches/prefill-env.yaml"),
    ("env-api-key", f"decode:\n  containers:\n  - name: vllm\n{IMAGE}    env:\n    - name: OPENAI_API_KEY\n"
     f"      value: {SECRET}\n", "decode.containers[0].env[0].value", "patches/decode-env.yaml"),
    ("flag-separate", f"decode:\n  containers:\n  - name: vllm\n{IMAGE}    args: [--api-key, {SECRET}]\n",
     "decode.containers[0].args[1]", "patches/decode-model-command.yaml"),
    ("flag-equals", f"decode:\n  containers:\n  - name: vllm\n{IMAGE}    args: ['--hf-token={SECRET}']\n",
     "decode.containers[0].args[0]", "patches/decode-model-command.yaml"),
    ("secret-object", f"extraObjects:\n- apiVersion: v1\n  kind: Secret\n  metadata: {{name: hf}}\n"
     f"  stringData: {{token: {SECRET}}}\n", "extraObjects[0]", "objects.yaml"),
]


@pytest.mark.parametrize("values, path, carrier", [c[1:] for c in CARRIERS], ids=[c[0] for c in CARRIERS])
def test_credential_stays_in_its_one_file_and_is_named_in_a_warning(cli, tmp_path, values, path, carrier):
    result, out, report = migrate(cli, tmp_path, values)
    assert files_holding(out, SECRET) == [carrier]
    assert SECRET not in (out / "kustomization.yaml").read_text()
    assert all(SECRET not in literal for gen in kustomization(out).get("configMapGenerator", [])
               for literal in gen.get("literals", []))
    assert SECRET not in result.stdout + result.stderr + json.dumps(report)
    warnings = [line for line in result.stdout.splitlines() if line.startswith("warning: ")]
    assert any(line.startswith(f"warning: {path}: ") for line in warnings), result.stdout
    assert any(w.startswith(f"{path}: ") for w in report["warnings"])
    assert SECRET in tools.kustomize_build(out)  # nothing lost: the workloads still get it


def test_unmapped_credential_is_listed_by_path_only(cli, tmp_path):
    result, out, report = migrate(cli, tmp_path, f"decode:\n  hfToken: {SECRET}\n", "--allow-unmapped")
    assert "#   decode.hfToken" in (out / "kustomization.yaml").read_text()
    assert files_holding(out, SECRET) == []
    assert SECRET not in result.stdout + result.stderr + json.dumps(report)


def test_refused_credential_is_not_echoed(cli, tmp_path):
    """An unmapped credential without --allow-unmapped: the error names the key, not the value."""
    values = tmp_path / "values.yaml"
    values.write_text(f"decode:\n  hfToken: {SECRET}\n")
    result = cli(values, "-o", tmp_path / "out")
    assert result.exit_code == 2 and "decode.hfToken" in result.stderr
    assert SECRET not in result.stderr + result.stdout


def test_auth_secret_name_is_referenced_never_inlined(cli, tmp_path):
    result, out, report = migrate(cli, tmp_path, "modelArtifacts:\n  authSecretName: my-hf-secret\n")
    text = (out / "kustomization.yaml").read_text()
    assert "my-hf-secret" not in text
    assert not [w for w in report["warnings"] if "authSecretName" in w]
    objects = [o for o in yaml.safe_load_all(tools.kustomize_build(out)) if o]
    refs = [env["valueFrom"]["secretKeyRef"] for o in objects if o["kind"] == "Deployment"
            for c in o["spec"]["template"]["spec"]["containers"] for env in c.get("env") or []
            if "valueFrom" in env and "secretKeyRef" in env["valueFrom"]]
    assert refs and all(ref["name"] == "my-hf-secret" for ref in refs)
    assert not any(o["kind"] in ("Secret", "ConfigMap") for o in objects)


@pytest.mark.parametrize("values", [
    f"decode:\n  containers:\n  - name: vllm\n{IMAGE}    env:\n    - name: HF_TOKEN\n      valueFrom:\n"
    "        secretKeyRef: {name: hf, key: token}\n",
    f"decode:\n  containers:\n  - name: vllm\n{IMAGE}    env:\n    - name: MAX_TOKENS\n      value: '512'\n"
    "    - name: HF_TOKEN\n      value: ''\n",
    f"decode:\n  containers:\n  - name: vllm\n{IMAGE}"
    "    args: [--max-num-batched-tokens, '8192', --tokenizer, org/tok]\n",
], ids=["value-from-secret", "not-a-credential", "token-like-flags"])
def test_no_warning_without_a_plain_credential(cli, tmp_path, values):
    result, _, report = migrate(cli, tmp_path, values)
    assert "warning:" not in result.stdout and report["warnings"] == []
