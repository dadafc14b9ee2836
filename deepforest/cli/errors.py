"""The one exception type the command line turns into a one-line message.

Anything a user can get wrong (a file, a column, an option) raises ``UserError`` with a message
that says what and where; the command line prints it without a traceback and exits with code 2.
Every other exception is a bug: the command line prints its traceback and exits with code 1.
"""

from __future__ import annotations


class UserError(Exception):
    """A mistake in the user's files or options, explained in one line."""
