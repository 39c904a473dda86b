"""The ``promo`` command line: one module per command; each parses options, calls the
pipeline, renders and exits. See :mod:`promo_cli.cli.common` for the exit codes."""

from __future__ import annotations

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
    app()
