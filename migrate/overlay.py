"""Write a generated overlay: kustomization.yaml, patches/*.yaml and objects.yaml.

The writer lays files into a staging directory; :func:`commit` then moves the
staging directory into place in one rename, so that a failure at any point
leaves the user's output directory exactly as it was.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migrate import yamlio
from migrate.errors import InputError
from migrate.plan import Plan

OBJECTS_FILE = "objects.yaml"
PATCH_DIR = "patches"


@dataclass
class PatchFile:
    """One patch of the overlay: JSON 6902 operations, or the deletion of a library object."""

    name: str
    kind: str
    target: str
    ops: list[dict] = field(default_factory=list)
    delete: dict | None = None
    last: bool = False  # applied after the namespace, from `transformers:` (see Overlay.kustomization)

    @property
    def path(self) -> str:
        return f"{PATCH_DIR}/{self.name}.yaml"

    def body(self) -> Any:
        if self.delete is not None:
            return {"$patch": "delete", **self.delete}
        return self.ops


@dataclass
class Overlay:
    plan: Plan
    library: str  # the library root, relative to the overlay
    patches: list[PatchFile] = field(default_factory=list)
    objects: list[dict] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    name_prefix: str | None = None
    images: list[dict] = field(default_factory=list)  # Kustomize `images:` entries (migrate.images)

    def kustomization(self) -> dict:
        plan = self.plan
        doc: dict[str, Any] = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"}
        unset_only = bool(plan.namespace) and self._keeps_own_namespaces()
        if plan.namespace and not unset_only:
            doc["namespace"] = plan.namespace
        if self.name_prefix:
            doc["namePrefix"] = self.name_prefix
        doc["resources"] = [f"{self.library}/accelerators/{plan.accelerator}"]
        if self.objects:
            doc["resources"].append(OBJECTS_FILE)
        if plan.components:
            doc["components"] = [f"{self.library}/components/{c}" for c in plan.components]
        if plan.literals:
            literals = [f"{k}={v}" for k, v in plan.literals.items()]
            doc["configMapGenerator"] = [{"name": "model-config", "behavior": "merge", "literals": literals}]
        if self.images:
            doc["images"] = [dict(entry) for entry in self.images]
        patches = [p for p in self.patches if not p.last]
        if patches:
            doc["patches"] = [{"path": p.path, "target": {"kind": p.kind, "name": p.target}} for p in patches]
        transformers = []
        if unset_only:
            transformers.append(namespace_transformer(plan.namespace))
        transformers += [patch_transformer(p) for p in self.patches if p.last]
        if transformers:
            doc["transformers"] = transformers
        return doc

    def _keeps_own_namespaces(self) -> bool:
        """Whether an object of objects.yaml names a namespace other than the release's: then
        the namespace is set only where none is (Kustomize's ``namespace:`` would move it)."""
        return any(object_namespace(obj) not in (None, self.plan.namespace) for obj in self.objects)


def object_namespace(obj: dict) -> Any:
    meta = obj.get("metadata")
    return meta.get("namespace") if isinstance(meta, dict) else None


def patch_transformer(patch: PatchFile) -> str:
    """An inline PatchTransformer applying ``patch`` after every built-in transformer: it gives
    an object of objects.yaml its name when that name is also a library object's, which
    Kustomize refuses while both are in the build (the library's local-config ConfigMaps go
    only at the very end)."""
    return yamlio.dump({"apiVersion": "builtin", "kind": "PatchTransformer",
                        "metadata": {"name": patch.name}, "path": patch.path,
                        "target": {"kind": patch.kind, "name": patch.target}}).rstrip("\n")


def namespace_transformer(namespace: str) -> str:
    """An inline NamespaceTransformer that puts ``namespace`` on every object that has none."""
    return yamlio.dump({"apiVersion": "builtin", "kind": "NamespaceTransformer",
                        "metadata": {"name": "release-namespace", "namespace": namespace},
                        "unsetOnly": True}).rstrip("\n")


def write(overlay: Overlay, directory: Path) -> None:
    """Write the overlay's files into ``directory`` (replacing earlier generated files)."""
    patch_dir = directory / PATCH_DIR
    if patch_dir.exists():
        shutil.rmtree(patch_dir)
    objects = directory / OBJECTS_FILE
    if objects.exists():
        objects.unlink()
    if overlay.patches:
        patch_dir.mkdir(parents=True)
    for patch in overlay.patches:
        (directory / patch.path).write_text(yamlio.dump(patch.body()), encoding="utf-8")
    if overlay.objects:
        objects.write_text(yamlio.dump_all(overlay.objects), encoding="utf-8")
    text = "".join(f"# {printable(line)}\n" if line else "#\n" for line in overlay.header)
    (directory / "kustomization.yaml").write_text(text + yamlio.dump(overlay.kustomization()), encoding="utf-8")


_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str) -> str:
    """``text`` with line breaks and other control characters escaped (``\\n``, ``\\x1b``), so that
    a key or file name from the values cannot end a comment line or drive a terminal."""
    return _UNPRINTABLE.sub(lambda m: repr(m.group())[1:-1], text)


def staging_dir(output: Path) -> Path:
    """A fresh directory beside ``output`` (same filesystem, same relative paths), with the mode
    of the directory it will replace, else the umask's. Parents that ``output`` needs are
    created; :func:`discard` removes them again."""
    target = _absolute(output)
    parent = target.resolve().parent
    created = missing_ancestor(target)
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = fresh_dir(parent, f".{target.name}.", ".tmp")
        if target.is_dir():
            shutil.copymode(target, staging)
        return staging
    except OSError as exc:
        _remove_created(parent, created)
        raise InputError(f"cannot create the output directory: {exc.strerror}", file=str(output)) from None


def missing_ancestor(output: Path) -> Path | None:
    """The highest parent of ``output`` that does not exist yet (the first one we would create)."""
    missing = None
    for parent in _absolute(output).parents:
        if parent.exists():
            break
        missing = parent
    return missing


def discard(staging: Path, created: Path | None) -> None:
    """Remove the staging directory and the parents created for it (only while they are empty)."""
    shutil.rmtree(staging, ignore_errors=True)
    _remove_created(staging.parent, created)


def _remove_created(directory: Path, created: Path | None) -> None:
    if created is None:
        return
    while True:
        try:
            directory.rmdir()
        except OSError:
            return
        if directory == created or directory == directory.parent:
            return
        directory = directory.parent


def fresh_dir(parent: Path, prefix: str, suffix: str) -> Path:
    """A new empty directory with a random name (``mkdir`` honours the umask; mkdtemp gives 0700)."""
    for _ in range(100):
        path = parent / f"{prefix}{os.urandom(4).hex()}{suffix}"
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise FileExistsError(errno.EEXIST, "no free name for a staging directory", str(parent))


def _absolute(path: Path) -> Path:
    """``path`` made absolute with ``.`` and ``..`` resolved, symbolic links left alone."""
    return Path(os.path.abspath(path))


def check_output(output: Path, force: bool) -> None:
    """Refuse an output path that is not a directory we may replace."""
    if not _absolute(output).name:
        raise InputError("is the root directory; give a directory to write the overlay to", file=str(output))
    if output.is_symlink():
        raise InputError("is a symbolic link; give a real directory", file=str(output))
    if output.exists() and not output.is_dir():
        raise InputError("exists and is not a directory", file=str(output))
    if output.is_dir() and any(output.iterdir()) and not force:
        raise InputError("exists and is not empty; use --force to replace it", file=str(output))
    for parent in output.absolute().parents:
        if parent.exists() and not parent.is_dir():
            raise InputError(f"{parent} is not a directory", file=str(output))
    parent = output.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not os.access(parent, os.W_OK):
        raise InputError("is not writable", file=str(output))


def commit(staging: Path, output: Path) -> None:
    """Move ``staging`` into place as ``output``, replacing what is there in one step."""
    output = _absolute(output)
    backup = None
    if output.exists():
        backup = staging.with_suffix(".old")  # as unique as the staging name; never someone else's
        output.rename(backup)
    try:
        staging.rename(output)
    except OSError:
        if backup is not None:
            backup.rename(output)
        raise
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)
