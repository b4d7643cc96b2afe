"""YAML output that reads back the same in PyYAML (YAML 1.1) and in Kustomize (YAML 1.2).

Strings that either parser would take for a number, a boolean or null are
quoted; multi-line strings use block style where YAML allows it.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

_LOOKS_TYPED = re.compile(
    r"""^(?:
        [-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?   # numbers, 1e3
      | 0o[0-7]+ | 0x[0-9a-fA-F]+ | [-+]?\.(?:inf|Inf|INF) | \.(?:nan|NaN|NAN)
      | y|Y|n|N|yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF
      | true|True|TRUE|false|False|FALSE|null|Null|NULL|~
      | [0-9]+(?::[0-5]?[0-9])+(?:\.[0-9_]*)?                             # sexagesimal
    )$""",
    re.X,
)


class _Dumper(yaml.SafeDumper):
    """Block style, no aliases, strings quoted when they would re-type."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if _LOOKS_TYPED.match(data) or data == "":
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="'" if "'" not in data else '"')
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _str)


def dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=4096)


def dump_all(documents: list[Any]) -> str:
    return yaml.dump_all(documents, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                         allow_unicode=True, width=4096, explicit_start=True)
