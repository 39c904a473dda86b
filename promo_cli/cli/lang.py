"""The language of the command line itself: ``--help``, usage errors and the CLI's own words.

The language is ``--lang`` when the command line gives it, else ``PROMO_LANG``, else the locale
(``LC_ALL``, ``LC_MESSAGES``, ``LANG``: ``zh…`` or ``en…``), else Chinese. Help texts are written
in English in the code and translated through gettext from ``promo_cli/locale`` (the Typer
strings too: panel titles, ``[default: …]``), so :func:`install` must run before Typer is
imported. Usage errors (an unknown option, a missing argument) are raised by Click in English
and are put into the user's language here, from their type.
"""

from __future__ import annotations

import gettext
import os
import re
from contextlib import contextmanager
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
LANGS = ("zh", "en")


def detect(argv: list[str], environ) -> str:
    """``zh`` or ``en``: ``--lang`` on the command line, PROMO_LANG, the locale, else zh."""
    for i, arg in enumerate(argv):
        if arg == "--lang" and i + 1 < len(argv) and argv[i + 1] in LANGS:
            return argv[i + 1]
        if arg.startswith("--lang=") and arg.split("=", 1)[1] in LANGS:
            return arg.split("=", 1)[1]
    if environ.get("PROMO_LANG") in LANGS:
        return environ["PROMO_LANG"]
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "")
        if value[:2] in LANGS:
            return value[:2]
    return "zh"


def install(lang: str) -> None:
    """Translate the CLI's gettext strings (ours and Typer's) into ``lang`` from now on."""
    gettext.bindtextdomain("messages", str(LOCALE_DIR))
    os.environ["LANGUAGE"] = "zh_CN" if lang == "zh" else "en"


_ = gettext.gettext


def usage_error(exc):
    """A Click usage error in the user's language (its type says what it is; its English text
    is not shown in zh); any other exception, or in English, ``exc`` itself."""
    from typer._click import exceptions as e
    from typer._click.globals import get_current_context

    if not isinstance(exc, e.UsageError) or _("Usage:") == "Usage:":
        return exc
    exc.ctx = exc.ctx or get_current_context(silent=True)
    if isinstance(exc, e.NoSuchOption):
        text = _("No such option: {name}").format(name=exc.option_name)
        if exc.possibilities:
            text += " " + _("(Possible options: {options})").format(options=", ".join(sorted(exc.possibilities)))
    elif isinstance(exc, e.MissingParameter):
        hint = exc.param_hint or (exc.param.get_error_hint() if exc.param is not None else "")
        argument = exc.param_type == "argument" or getattr(exc.param, "param_type_name", "") == "argument"
        text = (_("Missing argument {hint}.") if argument else _("Missing option {hint}.")).format(hint=hint)
    elif isinstance(exc, e.BadParameter):
        hint = exc.param_hint or (exc.param.get_error_hint() if exc.param is not None else "")
        choice = re.search(r"'([^']*)' is not one of (.+?)\.?$", exc.message)
        reason = _("'{value}' is not one of: {choices}").format(value=choice[1], choices=choice[2]) if choice \
            else _(exc.message)
        text = _("Invalid value for {hint}: {message}").format(hint=hint, message=reason)
    elif exc.message.startswith("Got unexpected extra argument"):
        text = _("Unexpected extra arguments: {args}").format(args=re.search(r"\(([^()]*)\)$", exc.message)[1])
    elif "Did you mean" in exc.message:           # an unknown command with a close one
        name, close = re.findall(r"'([^']*)'", exc.message)[:2]
        text = _("No such command {name!r}.").format(name=name) + " " + _("Did you mean {close}?").format(close=close)
    else:
        return exc
    return e.UsageError(text, exc.ctx)


@contextmanager
def _local_errors():
    """Usage errors raised inside, in the user's language."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - only usage errors are changed, and re-raised
        translated = usage_error(exc)
        if translated is exc:
            raise
        raise translated from None


def _local(base):
    """``base`` (Typer's command or group class) with its help option, usage line and usage
    errors in the user's language."""
    class Local(base):
        def get_help_option(self, ctx):
            option = super().get_help_option(ctx)
            if option is not None and option.help:
                option.help = _(option.help)
            return option

        def get_usage(self, ctx) -> str:
            return super().get_usage(ctx).replace("Usage:", _("Usage:"), 1)

        def parse_args(self, ctx, args):
            with _local_errors():
                return super().parse_args(ctx, args)

        def resolve_command(self, ctx, args):
            with _local_errors():
                return super().resolve_command(ctx, args)

    Local.__name__ = f"Local{base.__name__}"
    return Local


def localise(app) -> None:
    """Put every help text of ``app`` (its commands, sub-apps, arguments and options) into the
    user's language, and give its commands the local classes above. Run once, after every
    command is registered."""
    import typing

    from typer.core import TyperCommand, TyperGroup
    from typer.models import DefaultPlaceholder, ParameterInfo

    command_class, group_class = _local(TyperCommand), _local(TyperGroup)
    seen: set[int] = set()

    def params(callback) -> None:
        if callback is None:
            return
        if callback.__doc__:
            callback.__doc__ = _(inspect_doc(callback.__doc__))
        hints = typing.get_type_hints(callback, include_extras=True)
        # postponed annotations are text: evaluate them once, so the objects changed here are the ones Typer reads
        callback.__annotations__.update(hints)
        for hint in hints.values():
            for info in getattr(hint, "__metadata__", ()):
                if isinstance(info, ParameterInfo) and info.help and id(info) not in seen:
                    seen.add(id(info))
                    info.help = _(info.help)

    def walk(typer_app) -> None:
        info = typer_app.info
        if info.cls is None or isinstance(info.cls, DefaultPlaceholder):
            info.cls = group_class
        if isinstance(info.help, str):
            info.help = _(info.help)
        if typer_app.registered_callback is not None:
            params(typer_app.registered_callback.callback)
        for command in typer_app.registered_commands:
            if command.cls is None or isinstance(command.cls, DefaultPlaceholder) or command.cls is TyperCommand:
                command.cls = command_class
            if command.help:
                command.help = _(command.help)
            params(command.callback)
        for group in typer_app.registered_groups:
            if isinstance(group.help, str):
                group.help = _(group.help)
            walk(group.typer_instance)

    walk(app)


def inspect_doc(doc: str) -> str:
    import inspect

    return inspect.cleandoc(doc)
