"""A fleet of releases for ``batch``: which values files to migrate, and what came of each.

Jobs come from the values files of a directory (the release is the file stem)
or from an index file, in one of two layouts:

* a list of ``{file, release, namespace, chartVersion, name}``; ``file`` is
  relative to the values directory; only ``file`` is required;
* the fixtures' ``cases.yaml``: ``{chartVersion, cases: [{name, release, namespace}]}``
  with the values in ``<name>/values.yaml``.

A job's ``name`` is its overlay's subdirectory and its key in the reports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from migrate import yamlio
from migrate.errors import (EXIT_BUG, EXIT_DIFFERENT, EXIT_INTERRUPTED, EXIT_OK, EXIT_TOOL, EXIT_USAGE, InputError,
                            exit_for_signal)

VALUES_SUFFIXES = (".yaml", ".yml", ".json")
INDEX_KEYS = ("name", "file", "release", "namespace", "chartVersion")
CASE_KEYS = ("name", "release", "namespace", "chartVersion")
_NAME = re.compile(r"^[A-Za-z0-9._-]+$")

# Exit code -> the result word used by every report.
RESULTS = {
    EXIT_OK: "equivalent",
    EXIT_DIFFERENT: "not equivalent",
    EXIT_USAGE: "bad input",
    EXIT_TOOL: "tool failed",
    EXIT_BUG: "internal error",
    EXIT_INTERRUPTED: "interrupted",  # Ctrl-C before the release finished
    exit_for_signal(15): "interrupted",  # SIGTERM
}


@dataclass(frozen=True)
class Job:
    """One release to migrate."""

    name: str
    values: Path | None  # None when only verifying an overlay
    release: str
    namespace: str | None = None
    chart_version: str | None = None
    renders: Path | None = None  # --verify-against-dir: where the Helm render is


@dataclass
class JobResult:
    """What one migration produced; failures carry a one-line message."""

    job: Job
    exit_code: int
    seconds: float
    message: str = ""
    overlay: str | None = None
    migration: dict | None = None  # migrate.commands.migrate.json_report
    verification: Any = None  # a migrate.compare.Result when verified
    traceback: str | None = None

    @property
    def result(self) -> str:
        if self.exit_code == EXIT_OK and self.verification is None:
            return "migrated"
        return RESULTS.get(self.exit_code, RESULTS[EXIT_BUG])

    @property
    def ok(self) -> bool:
        return self.exit_code == EXIT_OK


@dataclass
class BatchResult:
    results: list[JobResult]
    seconds: float
    workers: int
    title: str = "batch"  # the command, in report headings
    noun: str = "release"  # what each result is about

    @property
    def exit_code(self) -> int:
        """The most severe outcome: 4 internal > 3 tool > 2 input > 1 not equivalent > 0."""
        return max((r.exit_code for r in self.results), default=EXIT_OK)

    def counts(self) -> dict[str, int]:
        """Releases per result word, in severity order, zeros included."""
        words = ["migrated", *RESULTS.values()]
        return {word: sum(1 for r in self.results if r.result == word) for word in words}

    def failed(self) -> list[JobResult]:
        return [r for r in self.results if not r.ok]


# --- finding the jobs ---------------------------------------------------------------------------


def load_jobs(values_dir: Path, index: Path | None = None, *, namespace: str | None = None,
              chart_version: str | None = None, renders: Path | None = None) -> list[Job]:
    """The jobs of a batch, in a stable order; InputError names the file and entry at fault."""
    if not values_dir.is_dir():
        raise InputError("values directory not found", file=str(values_dir))
    entries = _index_entries(index) if index is not None else _scanned(values_dir)
    if not entries:
        raise InputError(f"no values files ({', '.join('*' + s for s in VALUES_SUFFIXES)})", file=str(values_dir))
    jobs = [_job(entry, values_dir, namespace, chart_version, renders) for entry in entries]
    _check_unique(jobs, index or values_dir)
    return jobs


def _scanned(values_dir: Path) -> list[dict[str, str]]:
    files = sorted(p for p in values_dir.iterdir() if p.is_file() and p.suffix in VALUES_SUFFIXES)
    return [{"file": p.name} for p in files]


def _index_entries(index: Path) -> list[dict[str, str]]:
    data = _read_yaml(index)
    if isinstance(data, dict) and "cases" in data:
        cases = _checked_list(data["cases"], index, "cases", CASE_KEYS, required="name")
        default_version = data.get("chartVersion")
        return [{"file": f"{c['name']}/values.yaml", "chartVersion": default_version, **c} for c in cases]
    return _checked_list(data, index, "", INDEX_KEYS, required="file")


def _read_yaml(path: Path) -> Any:
    try:
        return yamlio.load_data(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the index: {getattr(exc, 'strerror', None) or exc}", file=str(path)) from None
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML: {' '.join(str(exc).split())}", file=str(path)) from None


def _checked_list(data: Any, path: Path, where: str, keys: tuple[str, ...], *, required: str) -> list[dict]:
    """Entries that are mappings of known string keys, with the required key present."""
    if not isinstance(data, list):
        raise InputError("should be a list of entries or a mapping with 'cases'", file=str(path), key=where or None)
    for number, entry in enumerate(data):
        at = f"{where}[{number}]"
        if not isinstance(entry, dict):
            raise InputError("should be a mapping", file=str(path), key=at)
        for key, value in entry.items():
            if key not in keys:
                raise InputError(f"unknown key; known: {', '.join(keys)}", file=str(path), key=f"{at}.{key}")
            if not isinstance(value, str) or not value:
                raise InputError("should be a non-empty string", file=str(path), key=f"{at}.{key}")
        if required not in entry:
            raise InputError(f"'{required}' is required", file=str(path), key=at)
    return data


def _job(entry: dict[str, str], values_dir: Path, namespace: str | None, chart_version: str | None,
         renders: Path | None) -> Job:
    values = values_dir / entry["file"]
    release = entry.get("release") or _stem(values)
    name = entry.get("name") or entry.get("release") or _stem(values)
    return Job(name=name, values=values, release=release, namespace=entry.get("namespace") or namespace,
               chart_version=entry.get("chartVersion") or chart_version, renders=renders)


def _stem(path: Path) -> str:
    return path.name[: -len(path.suffix)] if path.suffix else path.name


def find_render(job: Job) -> Path | None:
    """The Helm render to verify ``job`` against: DIR/<name or release>/manifest.yaml or DIR/<name or release>.yaml."""
    if job.renders is None:
        return None
    names = dict.fromkeys([job.name, job.release])
    candidates = [job.renders / n / "manifest.yaml" for n in names] + [job.renders / f"{n}.yaml" for n in names]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(c) for c in candidates)
    raise InputError(f"no Helm render for {job.name!r} (looked for {looked})")


def _check_unique(jobs: list[Job], source: Path) -> None:
    """Names are distinct, plain directory names."""
    seen: set[str] = set()
    for job in jobs:
        if not _NAME.match(job.name) or job.name in (".", ".."):
            raise InputError(f"{job.name!r} cannot name an overlay directory (letters, digits, '.', '_', '-')",
                             file=str(source))
        if job.name in seen:
            raise InputError(f"two releases would share the overlay directory {job.name!r}; "
                             "give the entries distinct 'name's in an index", file=str(source))
        seen.add(job.name)
