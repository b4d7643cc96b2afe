"""Readable text; ANSI colour only when asked (the CLI asks on a TTY)."""

from __future__ import annotations

from migrate.compare import ObjectResult, Result, Status
from migrate.reporters.base import Reporter, difference_line, summary_line

_COLOURS = {Status.EQUAL: "32", Status.DIFFERENT: "31", Status.MISSING: "31", Status.EXTRA: "33"}
_NOTES = {
    Status.MISSING: "  (rendered by Helm, not by Kustomize)",
    Status.EXTRA: "  (rendered by Kustomize, not by Helm)",
}


class TextReporter(Reporter):
    name = "text"
    suffix = ".txt"

    def render(self, result: Result) -> str:
        lines: list[str] = [f"note: {note}" for note in result.notes]
        for obj in result.objects:
            lines += self._object_lines(obj)
        lines += ["", self._paint(summary_line(result), Status.EQUAL if result.equivalent else Status.DIFFERENT)]
        lines += [self._paint(f"hint: {hint}", Status.EXTRA) for hint in result.hints]
        return "\n".join(lines) + "\n"

    def _object_lines(self, obj: ObjectResult) -> list[str]:
        head = f"{self._paint(f'{obj.status.value:<9}', obj.status)}  {obj.id}{_NOTES.get(obj.status, '')}"
        return [head, *(f"    {difference_line(diff)}" for diff in obj.differences)]

    def _paint(self, text: str, status: Status) -> str:
        return f"\033[{_COLOURS[status]}m{text}\033[0m" if self.color else text
