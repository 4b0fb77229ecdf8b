"""One way for every hint command to fail on a bad input: one line, exit status 2.

    if __name__ == "__main__":
        sys.exit(run_main(main))

A missing, truncated or corrupt file (and any :class:`UserFacingError`) ends the command with
``error: <file>: <what is wrong>`` on stderr and exit status 2, without a traceback; a value the
command cannot use (:class:`UsageError`, e.g. from :func:`check_at_least`, an unknown config key)
with ``error: <what is wrong>``;
``--debug`` (or HINT_DEBUG=1) prints the traceback too. Other exceptions are bugs and keep their
traceback. Commands declare the flag with :func:`add_debug_flag` so their --help lists it.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import traceback
import zipfile
from collections.abc import Callable, Sequence

#: exit status of a command that stopped on a user-facing error (argparse uses it for usage errors too)
USER_ERROR_STATUS = 2


class UserFacingError(Exception):
    """A problem the user can fix, with the file it concerns: ``<path>: <problem>``."""

    def __init__(self, path: str | os.PathLike, problem: str) -> None:
        super().__init__(f"{os.fspath(path)}: {problem}")
        self.path = os.fspath(path)
        self.problem = problem


class UsageError(ValueError):
    """A command-line value the command cannot use: ``error: <what is wrong>``, exit status 2."""


def check_at_least(args: argparse.Namespace, **minimums: int) -> None:
    """Raise :class:`UsageError` for the first option ``--<name>`` of `args` (given as
    ``name=minimum``, dashes as underscores) below its minimum; options left unset (None) pass."""
    for name, minimum in minimums.items():
        value = getattr(args, name)
        if value is not None and value < minimum:
            raise UsageError(f"--{name.replace('_', '-')} must be at least {minimum}, got {value}")


class MissingDependency(ImportError):
    """An optional package a command needs is not installed; the message says how to install it."""


#: what loaders raise for missing, unreadable, truncated or corrupt files (json.JSONDecodeError
#: is a ValueError; np.load raises zipfile.BadZipFile and EOFError; torch pickle errors)
KNOWN_ERRORS: tuple[type[BaseException], ...] = (
    UserFacingError, MissingDependency, OSError, ValueError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError,
)


def describe(error: BaseException) -> str:
    """The one-line text of a known error: ``<file>: <problem>`` where the error names its file."""
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.filename}: {error.strerror or error}"
    return " ".join(str(error).split()) or type(error).__name__


def add_debug_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")


def run_main(main: Callable[[list[str]], int | None], argv: Sequence[str] | None = None) -> int:
    """Run ``main(argv)`` (default: sys.argv[1:]) and return its exit status; a known error is
    printed as ``error: ...`` on stderr and gives :data:`USER_ERROR_STATUS`."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        return int(main(arguments) or 0)
    except KNOWN_ERRORS as error:
        if "--debug" in arguments or os.environ.get("HINT_DEBUG"):
            traceback.print_exc()
        print(f"error: {describe(error)}", file=sys.stderr, flush=True)
        return USER_ERROR_STATUS
