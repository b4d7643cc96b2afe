"""Where the generated overlay finds the Kustomize library.

Inside a checkout of the library the overlay references it where it is;
elsewhere the tool copies the building blocks the overlay uses (base, its
accelerator, its components) into the overlay (``library/``) so that
``kubectl kustomize DIR`` works on its own.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from migrate import yamlio
from migrate.resources import data_dir

BLOCKS = ("base", "accelerators", "components")
COPY_NAME = "library"


def is_library(path: Path) -> bool:
    return all((path / block).is_dir() for block in BLOCKS) and (path / "base" / "kustomization.yaml").is_file()


def find_checkout(output: Path) -> Path | None:
    """The library root of a checkout that contains ``output``, if any."""
    for ancestor in [output, *output.parents]:
        for candidate in (ancestor, ancestor / "kustomize"):
            if candidate.resolve() != output.resolve() and is_library(candidate):
                return candidate.resolve()
    return None


def reference(output: Path, library_root: Path) -> str:
    """The library root as a path relative to the overlay directory (POSIX separators)."""
    return Path(os.path.relpath(library_root, output.resolve())).as_posix()


def used_blocks(accelerator: str, components: Iterable[str]) -> list[str]:
    """The library folders an overlay on ``accelerator`` with ``components`` builds from."""
    return ["base", f"accelerators/{accelerator}", *(f"components/{c}" for c in components)]


def copy_used(target: Path, blocks: Iterable[str]) -> None:
    """Copy the packaged library's ``blocks`` (and the READMEs above them) into ``target``;
    blocks already there are kept. :func:`prune` removes the ones no longer used."""
    source = data_dir("kustomize")
    for block in blocks:
        if (target / block).is_dir():
            continue
        shutil.copytree(source / block, target / block)
        parts = Path(block).parts
        for depth in range(1, len(parts)):  # the top README is USED_NOTE
            readme = Path(*parts[:depth], "README.md")
            if (source / readme).is_file() and not (target / readme).exists():
                shutil.copyfile(source / readme, target / readme)
    if not (target / USED_README).exists():
        (target / USED_README).write_text(USED_NOTE, encoding="utf-8")


def prune(target: Path, blocks: Iterable[str]) -> None:
    """Remove copied blocks that are not in ``blocks`` (a fallback dropped a component)."""
    keep = {Path(b) for b in blocks}
    for group in ("accelerators", "components"):
        for path in sorted((target / group).rglob("kustomization.yaml"), reverse=True):
            block = path.parent.relative_to(target)
            if not any(block == k or block in k.parents or k in block.parents for k in keep):
                shutil.rmtree(path.parent)


USED_README = "README.md"
USED_NOTE = """# Library building blocks of this overlay

The building blocks of the llm-d-modelservice Kustomize library that this
overlay uses: `base/`, its accelerator and its components. Each folder's
README describes it. The whole library (every accelerator and component) is
the `kustomize/` folder of helm-to-kustomize; to switch accelerator or add a
component, change the Helm values and migrate again, or copy the block from
there.
"""


def copy_blocks(target: Path) -> None:
    """Copy the packaged library's building blocks (and its README) into ``target``."""
    source = data_dir("kustomize")
    target.mkdir(parents=True, exist_ok=True)
    for block in BLOCKS:
        shutil.copytree(source / block, target / block)
    readme = source / "README.md"
    if readme.is_file():
        shutil.copy2(readme, target / "README.md")


@lru_cache(maxsize=4)
def generated_ids(root: Path) -> frozenset[tuple[str, str]]:
    """(kind, name) of every ConfigMap and Secret the library's generators make: they take
    part in a build (as local-config objects) though they never show in its output."""
    import yaml

    found: set[tuple[str, str]] = set()
    for block in BLOCKS:
        for path in sorted((root / block).rglob("kustomization.yaml")):
            try:
                doc = yamlio.load_data(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, yaml.YAMLError):
                continue  # Kustomize names the problem if the overlay uses this block
            if not isinstance(doc, dict):
                continue
            for field, kind in (("configMapGenerator", "ConfigMap"), ("secretGenerator", "Secret")):
                for generator in doc.get(field) or []:
                    if isinstance(generator, dict) and isinstance(generator.get("name"), str):
                        found.add((kind, generator["name"]))
    return frozenset(found)
