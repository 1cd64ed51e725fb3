"""The ``reflexng`` command line: one module per verb in this package.

Each verb module defines ``register(subparsers)`` which adds its parser and sets
``func=<callable(args) -> int>``. A command line that names a verb imports and registers only
that verb's module (``reflexng --help`` imports them all). Verb modules must be cheap to import:
heavy imports (numpy, astropy, Qt) happen inside the function that runs the verb.

Exit codes shared by every verb: 0 success, 1 a job/run failed, 2 usage or cascade error.
An exception a verb did not handle becomes one line on stderr (see ``reflexng.cli._errors``);
``REFLEXNG_DEBUG=1`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from reflexng import __version__

# verb -> module in reflexng.cli (order is the order in --help)
VERBS = {
    "demo": "demo",
    "demo-data": "demo_data",
    "gui": "gui",
    "cascade": "cascade_cmd",
    "organise": "organise",
    "datasets": "datasets",
    "run": "run",
    "explain": "explain",
    "status": "status",
    "export": "export",
    "clean": "clean",
    "provenance": "provenance",
    "compare": "compare",
    "recipes": "recipes",
    "timeline": "timeline",
}


def _verb_of(argv: list[str]) -> str | None:
    """The verb a command line runs when its first argument names one; None otherwise (no
    argument, a top-level option such as ``--help`` first, an unknown verb)."""
    return argv[0] if argv and argv[0] in VERBS else None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The command-line parser. For a command line that runs one verb only that verb's module
    is imported and registered (its help and errors are the same); otherwise every verb is (for
    ``reflexng --help``, an unknown verb, no verb)."""
    parser = argparse.ArgumentParser(
        prog="reflexng",
        description="Interactive astronomical data reduction: cascades, data organiser, "
        "smart re-runs and provenance.",
    )
    parser.add_argument("--version", action="version", version=f"reflexng {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    verb = _verb_of(argv) if argv is not None else None
    for name, module in VERBS.items():
        if verb is None or name == verb:
            importlib.import_module(f"reflexng.cli.{module}").register(sub)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one ``reflexng: warning: ...`` line (no source line of our code)."""
    print(f"reflexng: warning: {message}", file=file or sys.stderr)


def _quiet_stdout() -> None:
    """After a closed pipe: point stdout at devnull so the interpreter's final flush stays silent."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: list[str] | None = None) -> int:
    try:
        parser = build_parser(sys.argv[1:] if argv is None else argv)
        args = parser.parse_args(argv)
    except KeyboardInterrupt:
        print("reflexng: interrupted", file=sys.stderr)
        return 130
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    import warnings

    from reflexng.cli._common import escaped_output, install_interrupts

    warnings.showwarning = _show_warning
    own_process = argv is None  # the command line of this process (not a call from Python code)
    args.own_process = own_process
    if own_process:
        escaped_output()  # a file name that is not UTF-8 is shown with \\xNN escapes
    try:
        if own_process and args.verb != "gui" and (args.verb != "demo" or getattr(args, "headless", False)):
            install_interrupts()  # one line and exit 130 on Ctrl-C; the second one kills at once
        code = int(func(args) or 0)
    except KeyboardInterrupt:
        from reflexng.cli._common import say_interrupted

        workdir = getattr(args, "workdir", None)
        say_interrupted("reflexng: interrupted" + (f"; {workdir} is consistent" if workdir else ""))
        code = 130
    except BrokenPipeError:  # e.g. `reflexng ... | head`: the reader has gone; exit quietly
        _quiet_stdout()
        return 0
    except Exception as exc:  # one place for errors no verb handled: a clear line, never a traceback
        if os.environ.get("REFLEXNG_DEBUG"):
            raise
        from reflexng.cli._errors import report

        verb = " ".join(v for v in (args.verb, getattr(args, "cascade_cmd", None),
                                    getattr(args, "recipes_cmd", None)) if v)
        return report(exc, args, verb)
    if own_process:
        from reflexng.cli._common import leave_if_interrupted

        leave_if_interrupted(code)  # after Ctrl-C the verb has cleaned up: no slow interpreter shutdown
        if args.verb == "organise":
            from reflexng.cli._common import leave_now

            leave_now(code)
    return code
