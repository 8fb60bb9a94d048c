"""The ``trm`` command line. Each subcommand lives beside the code it drives; this file only wires them.

One error policy: an error the user can cause (:class:`trm_core.errors.UserError`: bad arguments, a
malformed puzzle, a missing, foreign or unsafe file, a setting out of range) and an operating-system
error about a file (not writable, disk full) print one line and exit with code 2. A training run
stopped by SIGINT or SIGTERM saves, says how to resume, and exits with 128 + the signal number.
Everything else is a bug and shows its traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from .errors import UserError

# Subcommand modules; each register(subparsers) adds its parser(s) and sets ``func`` on them.
_SUBCOMMANDS = [
    "trm_core.data.cli",
    "trm_core.commands",
    "trm_core.lm",
    "trm_core.arc_cli",
]


class UsageError(UserError):
    """An error in how the command was called."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's default prints usage; keep it to one line + exit 2
        sys.stderr.write(f"trm: error: {message}\n")
        raise SystemExit(2)


def bounded(kind, low, name: str, inclusive: bool = True):
    """An argparse ``type`` that parses ``kind`` and refuses values below ``low`` (or at it, if not inclusive)."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a {kind.__name__}, got {text!r}") from None
        if value != value or value < low or (not inclusive and value == low):  # NaN too
            raise argparse.ArgumentTypeError(f"{name} must be {'>=' if inclusive else '>'} {low}, got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def positive_int(name: str):
    return bounded(int, 1, name)


def positive_float(name: str):
    return bounded(float, 0.0, name, inclusive=False)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="trm", description="The TRM Workbook: train, evaluate and explore tiny recursive models.")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    for name in _SUBCOMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def _os_message(e: OSError) -> str:
    where = f"{e.filename}: " if e.filename else ""
    return f"{where}{e.strerror or e}"


def main(argv: list[str] | None = None) -> int:
    from .trainer import TrainingStopped

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except UserError as e:
        sys.stderr.write(f"trm: error: {str(e).splitlines()[0] if str(e) else type(e).__name__}\n")
        return 2
    except OSError as e:
        if e.errno is None:  # not about a file or device: a bug
            raise
        sys.stderr.write(f"trm: error: {_os_message(e)}\n")
        return 2
    except TrainingStopped as e:
        sys.stderr.write(f"trm: {e}\n")
        return e.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("trm: interrupted\n")
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
