"""Report formats for a verification :class:`~migrate.compare.Result`; ``REPORTERS`` feeds ``--format``."""

from migrate.reporters import json_report, junit, markdown, text  # noqa: F401  (register the formats)
from migrate.reporters.base import REPORTERS, Reporter, get_reporter

__all__ = ["REPORTERS", "Reporter", "get_reporter"]
