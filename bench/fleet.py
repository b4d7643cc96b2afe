"""Fleets for the benchmark, made from the fixtures: every case of every chart version, each a
release of a name of its own (so that all of them can be built in one Kustomize build, the floor).

A case is renamed by replacing its Helm fullname (``<release>-llm-d-modelservice``, or a
``fullnameOverride``) in its values and its Helm render with ``f<k>-<fullname>``, the fullname
of the release ``f<k>-<release>``; the render's namespace is the case's. Left out: cases with an
object whose name does not hold the fullname (an extra object of a fixed name), which two
releases in one namespace could not both hold, and cases whose fullname does not end in the
library's ``modelservice`` (their overlays have no namePrefix, so the library's local-config
``model-config`` of two of them would clash in a combined build). The pool is cycled, so a
fleet of any size is made.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "llm-d-modelservice"


@dataclass(frozen=True)
class Case:
    version: str
    name: str
    release: str
    namespace: str
    values: str
    manifest: str
    fullname: str


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in path.name.lstrip("v").split("."))


def cases(versions: list[str] | None = None) -> list[Case]:
    """Every fixture case that can be renamed, oldest chart version first."""
    from migrate import chart, fit, values
    from migrate.manifests import parse_manifest

    out = []
    for directory in sorted((d for d in FIXTURES.iterdir() if d.is_dir()), key=_version_key):
        if versions and directory.name not in versions:
            continue
        index = yaml.safe_load((directory / "cases.yaml").read_text())
        version = index.get("chartVersion") or directory.name
        for case in index["cases"]:
            folder = directory / case["name"]
            values_text = (folder / "values.yaml").read_text()
            manifest_text = (folder / "manifest.yaml").read_text()
            try:
                effective = values.merge_defaults(values.load_defaults(version),
                                                  values.load_user_values(folder / "values.yaml"))
                targets = list(parse_manifest(manifest_text).values())
                fullname = fit.fullname_of(targets, chart.fullname(effective, case["release"]))
            except Exception:  # noqa: BLE001 - a case the bench cannot rename is left out
                continue
            if not fullname.endswith("modelservice") or not all(fullname in name for _, name in
                                                                 parse_manifest(manifest_text)):
                continue  # objects that would clash in a fleet: see the module's doc
            out.append(Case(version, case["name"], case["release"], case["namespace"], values_text,
                            manifest_text, fullname))
    return out


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![A-Za-z0-9.-]){re.escape(name)}(?![A-Za-z0-9])")


def renamed(case: Case, tag: str) -> tuple[str, str, str]:
    """(release, values, manifest) of ``case`` as a release named after ``tag``."""
    release = f"{tag}-{case.release}"
    fullname = f"{tag}-{case.fullname}"  # the chart's rule, also for a fullnameOverride
    pattern = _pattern(case.fullname)
    return release, pattern.sub(fullname, case.values), pattern.sub(fullname, case.manifest)


def write(pool: list[Case], count: int, directory: Path) -> Path:
    """``count`` releases from ``pool`` (cycled) in ``directory``: ``<name>/values.yaml`` and
    ``<name>/manifest.yaml``; returns the batch index (a list of entries)."""
    directory.mkdir(parents=True, exist_ok=True)
    entries = []
    for number in range(count):
        case = pool[number % len(pool)]
        tag = f"f{number}"
        release, values_text, manifest_text = renamed(case, tag)
        name = f"{tag}-{case.version.replace('.', '-')}-{case.name}"[:100]
        folder = directory / name
        folder.mkdir(exist_ok=True)
        (folder / "values.yaml").write_text(values_text)
        (folder / "manifest.yaml").write_text(manifest_text)
        entries.append({"file": f"{name}/values.yaml", "release": release, "namespace": case.namespace,
                        "chartVersion": case.version, "name": name})
    index = directory / "index.yaml"
    index.write_text(yaml.safe_dump(entries, sort_keys=False))
    return index
