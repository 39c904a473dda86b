"""The ``promo`` command line: one module per command; each parses options, calls the
pipeline, renders and exits. See :mod:`promo_cli.cli.common` for the exit codes."""

from __future__ import annotations

import ctypes
import os
import sys
from datetime import datetime

from promo_cli.cli import lang

lang.install(lang.detect(sys.argv, os.environ))     # before Typer is imported: its words are translated too

from typing import Annotated  # noqa: E402

import typer  # noqa: E402

from promo_cli import __version__  # noqa: E402
from promo_cli.cli.common import app  # noqa: E402

# Importing a command module registers its commands; this order is the order of `promo --help`.
# isort: off
from promo_cli.cli import settle  # noqa: E402,F401
from promo_cli.cli import history  # noqa: E402,F401
from promo_cli.cli import payout  # noqa: E402,F401
from promo_cli.cli import forecast  # noqa: E402,F401
# isort: on


def _print_version(value: bool) -> None:
    if value:
        print(f"promo {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                                       help="Show the version and exit.")] = False) -> None:
    """Month-end settlement of sales-promotion campaigns."""


@app.command("version")
def version_command() -> None:
    """Print the version of promo."""
    print(f"promo {__version__}")


lang.localise(app)


def main() -> None:
    """Console-script entry point."""
    return_freed_memory()
    sys.unraisablehook = _quiet_unraisable
    try:
        app()
    except SystemExit as exc:
        if exc.code == 2:           # a usage error stops before any command opens its log
            _log_usage_error(sys.argv)
        raise


def _quiet_unraisable(unraisable) -> None:
    """An error in a finaliser (a half-written zip closed again on a full disk) is no news to
    the user: the command has already said what happened. Anything else is shown as usual."""
    if isinstance(unraisable.exc_value, OSError):
        return
    sys.__unraisablehook__(unraisable)


def _log_usage_error(argv: list[str]) -> None:
    """Append the exit line of a usage error to the run log named on the command line, so a
    cron log shows every run, the refused ones too."""
    path = next((a.split("=", 1)[1] for a in argv if a.startswith("--log-file=")), None)
    if path is None and "--log-file" in argv[:-1]:
        path = argv[argv.index("--log-file") + 1]
    if not path:
        return
    try:
        with open(path, "a", encoding="utf-8") as log:
            log.write(f"{datetime.now():%Y-%m-%d %H:%M:%S} usage error: {' '.join(argv[1:])}\n"
                      f"{datetime.now():%Y-%m-%d %H:%M:%S} exit 2\n")
    except OSError:
        pass


def return_freed_memory() -> None:
    """Have glibc give large freed blocks back to the system (a no-op elsewhere).

    A large settlement allocates and frees many arrays of several megabytes. By default glibc
    raises its mmap threshold each time such a block is freed, after which blocks of that size
    come from the heap and stay with the process when freed: a million-row run then peaks some
    300 MB above what it uses. Fixed thresholds (what MALLOC_MMAP_THRESHOLD_ and
    MALLOC_TRIM_THRESHOLD_ set) send blocks of 4 MB and more straight back to the system."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 4 * 1024 * 1024)
    mallopt(m_trim_threshold, 32 * 1024 * 1024)
