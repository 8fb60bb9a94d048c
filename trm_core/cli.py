"""The ``trm`` command line. Each subcommand lives beside the code it drives; this file only wires them.

Errors a user can cause (bad arguments, a malformed puzzle, a missing or foreign file) print one
line and exit with code 2, never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# (subcommand module, registering function); each register(subparsers) adds its parser(s) and sets
# ``func`` on them. A module that is not written yet is simply absent.
_SUBCOMMANDS = [
    "trm_core.data.cli",
    "trm_core.commands",
]


class UsageError(Exception):
    """An error caused by the user's input: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's default prints usage; keep it to one line + exit 2
        sys.stderr.write(f"trm: error: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="trm", description="The TRM Workbook: train, evaluate and explore tiny recursive models.")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    for name in _SUBCOMMANDS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name == name:
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (UsageError, FileNotFoundError, ValueError) as e:
        msg = str(e) if not isinstance(e, FileNotFoundError) or not e.filename else f"no such file: {e.filename}"
        sys.stderr.write(f"trm: error: {msg}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("trm: interrupted\n")
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
