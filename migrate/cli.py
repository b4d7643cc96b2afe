"""The command line: options become plain dataclasses, commands do the work.

``helm-to-kustomize VALUES -o DIR`` is ``helm-to-kustomize migrate VALUES -o DIR``.
Every error is one line on stderr; ``--debug`` adds the traceback.
Heavy modules are imported inside the commands so that ``--version`` stays fast.
"""

from __future__ import annotations

import functools
import os
import re
import signal
import sys
import traceback
from pathlib import Path
from typing import Any

import click

from migrate import PROG, __version__
from migrate.errors import EXIT_BUG, EXIT_INTERRUPTED, EXIT_OK, MigrateError, exit_for_signal
from migrate.options import MigrateOptions, ToolOptions, VerifyOptions

DEFAULT_COMMAND = "migrate"
# Kept in step with migrate.reporters.REPORTERS and migrate.normalise.RULES (tests check it);
# listed here so that parsing options imports neither.
FORMATS = ("text", "json", "junit", "markdown")
RULE_IDS = ("provenance-labels", "release-namespace", "empty-values", "quantities", "ordered-lists")


class DefaultGroup(click.Group):
    """A group that runs ``migrate`` when the first argument is not a command, and owns error output."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Each command's first docstring line whole (click cuts it to the width), wrapped."""
        rows = [(name, command.get_short_help_str(limit=1000)) for name in self.list_commands(ctx)
                if (command := self.get_command(ctx, name)) is not None and not command.hidden]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        try:
            code = _run_reporting_errors(
                lambda: super(DefaultGroup, self).main(argv, prog_name or PROG, complete_var, False, **extra),
                debug="--debug" in argv,
            )
        finally:
            _stop_commands()
        if standalone_mode:
            sys.exit(code)
        return code


_NO_ARGS = getattr(click.exceptions, "NoArgsIsHelpError", ())  # click >= 8.2: bare command shows help


def _run_reporting_errors(call: Any, *, debug: bool) -> int:
    """Run the CLI and turn every exception into one stderr line and an exit code."""
    try:
        code = call()
    except _NO_ARGS as exc:
        click.echo(exc.format_message())
        return exc.exit_code
    except click.ClickException as exc:
        return _fail(f"{exc.format_message()} (see --help)", exc.exit_code, debug)
    except (click.Abort, KeyboardInterrupt):  # click turns Ctrl-C into Abort
        return _fail("interrupted", EXIT_INTERRUPTED, debug)
    except MigrateError as exc:
        return _fail(str(exc), exc.exit_code, debug)
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        return _fail(f"unexpected {type(exc).__name__}: {exc} (rerun with --debug for the traceback)",
                     EXIT_BUG, debug)
    return code if isinstance(code, int) else 0


def _fail(message: str, code: int, debug: bool) -> int:
    if debug:
        traceback.print_exc()
    click.echo(f"{PROG}: error: {one_line(message)}", err=True)
    return code


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def one_line(text: str) -> str:
    """``text`` on one line, with control characters from hostile input (terminal escapes) shown escaped."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", " ".join(text.split()))


def _color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name=PROG, message="%(prog)s %(version)s")
def cli() -> None:
    """Migrate llm-d-modelservice Helm releases to Kustomize overlays, and prove the objects are the same.

    Without a command, runs migrate.
    """


def _tool_options(func: Any) -> Any:
    func = click.option("--helm", "helm", metavar="BIN", help="Helm >= 3 program [env HELM_TO_KUSTOMIZE_HELM].")(func)
    func = click.option("--kustomize", "kustomize", metavar="BIN",
                        help="kustomize >= 5 or kubectl >= 1.27 [env HELM_TO_KUSTOMIZE_KUSTOMIZE].")(func)
    return func


def _timeout_option(func: Any) -> Any:
    """``--timeout SECONDS``: the limit for each Kustomize or Helm command of this run."""

    @functools.wraps(func)
    def with_timeout(*args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        from migrate import tools

        with tools.timeout_set(timeout):
            tools.command_timeout()  # a bad $HELM_TO_KUSTOMIZE_TIMEOUT is refused before any work
            return func(*args, **kwargs)

    return click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
                        help="Stop a Kustomize or Helm command after SECONDS (exit 3) "
                             "[env HELM_TO_KUSTOMIZE_TIMEOUT; default: 300].")(with_timeout)


def _stop_commands() -> None:
    """Kill the commands a background thread may still run (after an error or an interrupt)."""
    tools = sys.modules.get("migrate.tools")
    if tools is not None:
        tools.stop_all()


def _report_options(func: Any) -> Any:
    func = click.option("--debug", is_flag=True, help="Show tracebacks.")(func)
    func = click.option("--report", type=click.Path(dir_okay=False, path_type=Path),
                        help="Write the report in --format to FILE; text still goes to stdout.")(func)
    func = click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
                        help="Report format.")(func)
    return func


def _migrate_report_options(func: Any) -> Any:
    """migrate's --format and --report: without --format, --report FILE holds the JSON migration report."""
    func = click.option("--debug", is_flag=True, help="Show tracebacks.")(func)
    func = click.option("--report", type=click.Path(dir_okay=False, path_type=Path),
                        help="Write the report in --format to FILE (default json: the migration report, with "
                             "the verification when verified); text still goes to stdout.")(func)
    func = click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
                        help="Report format: text, json (the migration report), junit or markdown (the "
                             "accounting and the verification) [default: text; json for --report].")(func)
    return func


class _ChartVersionOption(click.Option):
    """--chart-version, whose help lists the supported releases (read when help is shown)."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        from migrate.resources import supported_chart_versions

        versions = supported_chart_versions()
        self.help = (f"Chart version of the release: {_version_ranges(versions)} ({len(versions)} releases) "
                     "[default: the render's helm.sh/chart label, else the newest].")
        return super().get_help_record(ctx)


def _version_ranges(versions: list[str]) -> str:
    """``v0.2.0–v0.2.1, v0.2.3–v0.2.16, …``: runs of consecutive patch releases per minor series."""
    runs: list[list[str]] = []
    for version in versions:
        parts = version.lstrip("v").split(".")
        if runs:
            last = runs[-1][-1].lstrip("v").split(".")
            if last[:2] == parts[:2] and last[2].isdigit() and parts[2].isdigit() and int(parts[2]) == int(last[2]) + 1:
                runs[-1].append(version)
                continue
        runs.append([version])
    return ", ".join(run[0] if len(run) == 1 else f"{run[0]}–{run[-1]}" for run in runs)


def _help_as_value(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """``--chart-version --help`` shows the help (with the versions), not a version named --help."""
    if value in ("--help", "-h"):
        click.echo(ctx.get_help())
        ctx.exit(EXIT_OK)
    return value


def _rule_options(func: Any) -> Any:
    for rule in reversed(RULE_IDS):
        func = click.option(f"--no-{rule}", f"no_{rule.replace('-', '_')}", is_flag=True,
                            help=f"Switch off the '{rule}' normalisation rule.")(func)
    return func


@cli.command()
@click.argument("overlay", metavar="DIR", type=click.Path(path_type=Path))
@click.option("--manifest", type=click.Path(path_type=Path), help="Helm render to compare with.")
@click.option("--chart", help="Chart to render with helm template instead of --manifest.")
@click.option("--values", type=click.Path(path_type=Path), help="Values file for --chart.")
@click.option("--release", help="Release name for --chart [default: the overlay's (namePrefix, header), else "
                                "basename of DIR].")
@click.option("--namespace", help="Release namespace: objects without one are in it [default: the overlay's "
                                  "namespace:].")
@_report_options
@_tool_options
@_timeout_option
@_rule_options
def verify(overlay: Path, manifest: Path | None, chart: str | None, values: Path | None, release: str | None,
           namespace: str | None, fmt: str, report: Path | None, debug: bool, kustomize: str | None,
           helm: str | None, **rules: bool) -> int:
    """Check that the Kustomize overlay DIR renders the same objects as Helm.

    Exit 0 equivalent, 1 not equivalent, 2 bad input, 3 tool missing or failed.
    """
    disabled = frozenset(rule for rule in RULE_IDS if rules[f"no_{rule.replace('-', '_')}"])
    opts = VerifyOptions(overlay=overlay, manifest=manifest, chart=chart, values=values, release=release,
                         namespace=namespace, format=fmt, report=report, tools=ToolOptions(kustomize, helm),
                         disabled_rules=disabled, color=_color(), debug=debug)
    from migrate.commands import verify as command

    return command.run(opts)


@cli.command()
@click.argument("values", type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Overlay directory to write.")
@click.option("--release", help="Release name [default: basename of DIR].")
@click.option("--namespace", help="Namespace of the overlay; none set without it.")
@click.option("--chart-version", cls=_ChartVersionOption, metavar="V", callback=_help_as_value,
              help="Chart version of the release")
@click.option("--force", is_flag=True, help="Overwrite an existing overlay.")
@click.option("--verify-against", type=click.Path(path_type=Path), metavar="MANIFEST",
              help="Helm render (helm get manifest) to verify the overlay against.")
@click.option("--chart", help="Chart to render with helm template for verification.")
@click.option("--allow-unmapped", is_flag=True, help="List unmapped values instead of failing.")
@_migrate_report_options
@_tool_options
@_timeout_option
def migrate(values: Path, output: Path, release: str | None, namespace: str | None, chart_version: str | None,
            force: bool, verify_against: Path | None, chart: str | None, allow_unmapped: bool, fmt: str,
            report: Path | None, debug: bool, kustomize: str | None, helm: str | None) -> int:
    """Write a Kustomize overlay to DIR for the Helm values file VALUES."""
    opts = MigrateOptions(values=values, output=output, release=release, namespace=namespace,
                          chart_version=chart_version, force=force, verify_against=verify_against, chart=chart,
                          allow_unmapped=allow_unmapped, report=report, format=fmt,
                          tools=ToolOptions(kustomize, helm), color=_color(), debug=debug)
    from migrate.commands import migrate as command

    return command.run(opts)


@cli.command()
@click.argument("values_dir", metavar="VALUES_DIR", type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory for the overlays, one subdirectory per release.")
@click.option("--index", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="YAML list of {file, release, namespace, chartVersion}, or a fixtures cases.yaml.")
@click.option("--namespace", help="Namespace for releases the index gives none.")
@click.option("--chart-version", help="Chart version for releases the index gives none.")
@click.option("--force", is_flag=True, help="Overwrite existing overlays.")
@click.option("--allow-unmapped", is_flag=True, help="List unmapped values instead of failing.")
@click.option("--verify-against-dir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Helm renders per release: DIR/<name>/manifest.yaml or DIR/<name>.yaml.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Parallel migrations [default: CPU count].")
@_report_options
@_tool_options
@_timeout_option
def batch(values_dir: Path, output: Path, index: Path | None, namespace: str | None, chart_version: str | None,
          force: bool, allow_unmapped: bool, verify_against_dir: Path | None, jobs: int | None, fmt: str,
          report: Path | None, debug: bool, kustomize: str | None, helm: str | None) -> int:
    """Migrate every values file in VALUES_DIR to an overlay in OUTPUT/<name>.

    Exit 0 all equivalent; otherwise the most severe outcome: 1 not equivalent,
    2 bad input, 3 tool missing or failed.
    """
    from migrate.commands import batch as command

    opts = command.BatchOptions(values_dir=values_dir, output=output, index=index, namespace=namespace,
                                chart_version=chart_version, force=force, allow_unmapped=allow_unmapped,
                                verify_against_dir=verify_against_dir, jobs=jobs, format=fmt, report=report,
                                tools=ToolOptions(kustomize, helm), color=_color(), debug=debug)
    return command.run(opts)


def main() -> None:
    """Console-script entry point. SIGTERM unwinds like Ctrl-C, so no staging directory is left
    behind; either exits 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM)."""
    signal.signal(signal.SIGTERM, _terminated)
    signal.signal(signal.SIGINT, _interrupted)
    from migrate import earlybuild

    # a migration's Kustomize starts while the commands are imported (after the handlers, so
    # that a signal now stops it and is reported as any other)
    code = _run_reporting_errors(lambda: earlybuild.start(sys.argv[1:]), debug=False)
    if code:
        _stop_commands()
        sys.exit(code)
    cli.main(prog_name=PROG)


_signalled = False


def _terminated(signum: int, frame: Any) -> None:
    if _first_signal(signum):
        raise SystemExit(exit_for_signal(signum))


def _interrupted(signum: int, frame: Any) -> None:
    if _first_signal(signum):
        raise KeyboardInterrupt


def _first_signal(signum: int) -> bool:
    """Whether this is the first SIGINT or SIGTERM: a second one (Ctrl-C reaches a batch worker
    from the terminal and from its parent) must not cut the clean-up of the first short.
    The running commands are killed (also those of other threads, which Python's signal
    never reaches) and the signal is passed on to this process's worker processes (batch)."""
    global _signalled
    if _signalled:
        return False
    _signalled = True
    tools = sys.modules.get("migrate.tools")
    if tools is not None:
        tools.interrupt(signum)  # the commands of every thread end now, and no new one starts
    multiprocessing = sys.modules.get("multiprocessing")
    if multiprocessing is not None:
        try:
            workers = multiprocessing.active_children()
        except Exception:  # noqa: BLE001 - in a signal handler: pass on what can be passed on
            workers = []
        for worker in workers:
            try:
                os.kill(worker.pid, signum)
            except (OSError, TypeError):
                pass
    return True


__all__ = ["cli", "main"]
