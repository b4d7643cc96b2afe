"""Readable text; ANSI colour only when asked (the CLI asks on a TTY)."""

from __future__ import annotations

from migrate.compare import ObjectResult, Result, Status
from migrate.reporters.base import Reporter, show_sides, summary_line

_COLOURS = {Status.EQUAL: "32", Status.DIFFERENT: "31", Status.MISSING: "31", Status.EXTRA: "33"}
_NOTES = {
    Status.MISSING: "  (rendered by Helm, not by Kustomize)",
    Status.EXTRA: "  (rendered by Kustomize, not by Helm)",
}


class TextReporter(Reporter):
    name = "text"
    suffix = ".txt"

    def render(self, result: Result) -> str:
        lines: list[str] = []
        for obj in result.objects:
            lines += self._object_lines(obj)
        lines += ["", self._paint(summary_line(result), Status.EQUAL if result.equivalent else Status.DIFFERENT)]
        return "\n".join(lines) + "\n"

    def _object_lines(self, obj: ObjectResult) -> list[str]:
        head = f"{self._paint(f'{obj.status.value:<9}', obj.status)}  {obj.id}{_NOTES.get(obj.status, '')}"
        lines = [head]
        for diff in obj.differences:
            helm, kustomize = show_sides(diff)
            lines.append(f"    {diff.path}: helm {helm}, kustomize {kustomize}")
        return lines

    def _paint(self, text: str, status: Status) -> str:
        return f"\033[{_COLOURS[status]}m{text}\033[0m" if self.color else text
