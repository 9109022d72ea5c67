"""The one exception family fgrid raises, each with the exit code the CLI uses.

Messages are written for the person at the terminal: one line that says what is wrong and what to do.
This module imports nothing, so every layer (analysis included) may raise these.
"""

from __future__ import annotations


class FgridError(Exception):
    """An error a user can act on; its message is one line, its exit code 1."""

    exit_code = 1


class InputError(FgridError):
    """Bad input: an unknown player, team or location, a value out of range, a malformed id (exit 2)."""

    exit_code = 2


class UnknownTaskError(InputError):
    """A task id that was never submitted, or whose record has expired (exit 2)."""


class NoDataError(InputError):
    """No synced data (or no trained model) where one is needed (exit 2)."""


class NoModelError(NoDataError):
    """No trained ai model where one is needed (exit 2; HTTP 409, the server's state, not the request, is wrong)."""


class UnavailableError(FgridError):
    """A broker, result store or data source cannot be reached (exit 3); ``component`` names which, when known;
    ``fix`` says what to do when the cause is known (refused credentials, TLS...)."""

    exit_code = 3

    def __init__(self, message: str, component: str | None = None, fix: str | None = None):
        super().__init__(message)
        self.component = component
        self.fix = fix


class RefusedError(UnavailableError):
    """The server answered and refused (exit 3): a wrong user or password, a virtual host that does not exist or is
    not this user's. Unlike a server that is down, trying again cannot help."""


class StorageError(FgridError):
    """The machine's own storage refused: a full disk, a read-only or unwritable folder (exit 4); the message names
    the path and the cause."""

    exit_code = 4


class DataFormatError(FgridError):
    """An input data file cannot be read or lacks required columns (exit 1)."""


class TransientDataError(FgridError):
    """A data read that failed for a reason that may pass (a locked or half-replaced file); tasks retry it."""
