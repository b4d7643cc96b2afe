"""Markdown for a pull-request comment: the summary table first, then the differences."""

from __future__ import annotations

from migrate.compare import Result, Status
from migrate.reporters.base import Reporter, show_sides

MAX_ROWS = 200  # keeps a comment well under GitHub's 65536-character limit


class MarkdownReporter(Reporter):
    name = "markdown"
    suffix = ".md"

    def render(self, result: Result) -> str:
        verdict = "✅ equivalent" if result.equivalent else "❌ not equivalent"
        lines = [f"### helm-to-kustomize verify: {verdict}", "", "| Status | Objects |", "|---|---:|"]
        lines += [f"| {status.label} | {result.count(status)} |" for status in Status]
        if result.notes or result.hints:
            lines += [""] + [f"- note: {_cell(note, 400)}" for note in result.notes]
            lines += [f"- **hint:** {_cell(hint, 400)}" for hint in result.hints]
        rows = self._rows(result)
        if rows:
            lines += ["", "| Object | Status | Path | Helm | Kustomize |", "|---|---|---|---|---|"]
            lines += rows[:MAX_ROWS]
            if len(rows) > MAX_ROWS:
                lines += ["", f"_{len(rows) - MAX_ROWS} more rows not shown; see the JSON report._"]
        return "\n".join(lines) + "\n"

    def _rows(self, result: Result) -> list[str]:
        rows = []
        for obj in result.not_equal():
            if not obj.differences:
                rows.append(f"| `{_cell(obj.id)}` | {obj.status.label} | | | |")
            for diff in obj.differences:
                helm, kustomize = show_sides(diff)
                rows.append(
                    f"| `{_cell(obj.id)}` | {obj.status.label} | `{_cell(diff.where)}` "
                    f"| `{_cell(helm)}` | `{_cell(kustomize)}` |"
                )
        return rows


def _cell(text: str, limit: int = 120) -> str:
    """Table-safe: no pipes, no newlines, no backticks, bounded length."""
    text = text.replace("|", "\\|").replace("\n", " ").replace("`", "'")
    return text if len(text) <= limit else text[: limit - 1] + "…"
