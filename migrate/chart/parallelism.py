"""Parallelism arithmetic (CHART-BEHAVIOUR §9.1).

The chart computes each figure as template text first (``{{ .tensor }}`` prints a float64, so
``1e+06`` is possible) and converts the text with Sprig's ``int`` where it needs a number.
Both forms are kept: the env vars use the text, the flags and resources use the number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from migrate.chart.gotmpl import GoInt, go_int_div, go_print, to_int, truthy
from migrate.errors import ChartRefusal


@dataclass(frozen=True)
class Parallelism:
    """Derived parallelism of one role. ``*_text`` is what the chart prints."""

    tp_text: str
    dp_text: str
    dpl_text: str
    tp: int
    dp: int
    dpl: int
    gpus: int
    spec: Any = field(default=None, repr=False, compare=False)
    role: str = field(default="<role>", repr=False, compare=False)

    @property
    def w(self) -> int:
        """W, the LeaderWorkerSet size; raises ChartRefusal where Helm would."""
        return lws_size(self.spec, self.role)


def _get(spec: Any, key: str) -> Any:
    if not truthy(spec):
        return None
    if not isinstance(spec, dict):
        raise ChartRefusal(f"can't evaluate field {key} (Helm refuses to render); "
                           "parallelism must be a map", key=f"parallelism.{key}")
    return spec.get(key)


def tensor_text(spec: Any) -> str:
    tensor = _get(spec, "tensor")
    return go_print(tensor) if truthy(tensor) else "1"


def data_text(spec: Any) -> str:
    data, local, workers = (_get(spec, k) for k in ("data", "dataLocal", "workers"))
    if truthy(data):
        return go_print(data)
    if truthy(local) and truthy(workers):
        return str(to_int(local) * to_int(workers))
    return go_print(local) if truthy(local) else "1"


def data_local_text(spec: Any, role: str = "<role>") -> str:
    data, local, workers = (_get(spec, k) for k in ("data", "dataLocal", "workers"))
    if truthy(local):
        return go_print(local)
    if truthy(data) and truthy(workers):
        return str(_exact_division(data, workers, "workers", role))
    return go_print(data) if truthy(data) else "1"


def workers_text(spec: Any, role: str = "<role>") -> str:
    """W, the LeaderWorkerSet size (only computed for LeaderWorkerSets)."""
    data, local, workers = (_get(spec, k) for k in ("data", "dataLocal", "workers"))
    if truthy(workers):
        return go_print(workers)
    if truthy(data) and truthy(local):
        return str(_exact_division(data, local, "dataLocal", role))
    return "1"


def _exact_division(data: Any, divisor: Any, name: str, role: str) -> int:
    numerator, denominator = to_int(data), to_int(divisor)
    if denominator == 0:
        raise ChartRefusal(
            f"integer divide by zero (Helm refuses to render); set {role}.parallelism.{name} "
            "to a positive integer",
            key=f"{role}.parallelism.{name}",
        )
    result = go_int_div(numerator, denominator)
    if numerator != result * to_int(divisor):
        raise ChartRefusal(
            f"parallelism.data must be a multiple of parallelism.{name} (Helm refuses to "
            f"render); make {role}.parallelism.data a multiple of {role}.parallelism.{name}",
            key=f"{role}.parallelism.data",
        )
    return result


def parallelism(spec: Any, role: str = "<role>") -> Parallelism:
    """TP, DP, DPL, GPUs per worker (and W, lazily) for a role's ``parallelism`` map. A whole
    role map (``values["decode"]``) is accepted too."""
    if isinstance(spec, dict) and "parallelism" in spec:
        spec = spec["parallelism"]
    tp_text, dp_text = tensor_text(spec), data_text(spec)
    dpl_text = data_local_text(spec, role)
    tp, dpl = to_int(tp_text), to_int(dpl_text)
    return Parallelism(
        tp_text=tp_text,
        dp_text=dp_text,
        dpl_text=dpl_text,
        tp=tp,
        dp=to_int(dp_text),
        dpl=dpl,
        gpus=GoInt(tp * dpl),
        spec=spec,
        role=role,
    )


def lws_size(spec: Any, role: str = "<role>") -> int:
    """W: ``leaderWorkerTemplate.size``; fails like Helm when data is not a multiple."""
    if isinstance(spec, dict) and "parallelism" in spec:
        spec = spec["parallelism"]
    return to_int(workers_text(spec, role))
