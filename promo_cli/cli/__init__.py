"""The ``promo`` command line: one module per command; each parses options, calls the
pipeline, renders and exits. See :mod:`promo_cli.cli.common` for the exit codes."""

from __future__ import annotations

import ctypes

from promo_cli import __version__
from promo_cli.cli.common import app

# Importing a command module registers its commands; this order is the order of `promo --help`.
# isort: off
from promo_cli.cli import settle  # noqa: E402,F401
from promo_cli.cli import history  # noqa: E402,F401
from promo_cli.cli import forecast  # noqa: E402,F401
# isort: on


@app.command("version")
def version_command() -> None:
    """Print the version of promo."""
    print(f"promo {__version__}")


def main() -> None:
    """Console-script entry point."""
    return_freed_memory()
    app()


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
