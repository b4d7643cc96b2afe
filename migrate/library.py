"""Where the generated overlay finds the Kustomize library.

Inside a checkout of the library the overlay references it where it is;
elsewhere the tool copies the library's building blocks into the overlay
(``library/``) so that ``kubectl kustomize DIR`` works on its own.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

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


def copy_into(staging: Path) -> None:
    """Copy the packaged library's building blocks into ``staging/library``."""
    copy_blocks(staging / COPY_NAME)


def copy_blocks(target: Path) -> None:
    """Copy the packaged library's building blocks (and its README) into ``target``."""
    source = data_dir("kustomize")
    target.mkdir(parents=True, exist_ok=True)
    for block in BLOCKS:
        shutil.copytree(source / block, target / block)
    readme = source / "README.md"
    if readme.is_file():
        shutil.copy2(readme, target / "README.md")
