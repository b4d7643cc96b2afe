"""Report formats for a verification :class:`~migrate.compare.Result`; ``REPORTERS`` feeds ``--format``."""

from migrate.reporters import text, json_report, junit, markdown  # noqa: F401,I001  (registers, in --format order)
from migrate.reporters.base import REPORTERS, Reporter, get_reporter

__all__ = ["REPORTERS", "Reporter", "get_reporter"]
