"""The ``provisioning`` command: tenants, upload files, plans and rules from a shell.

Installed with the ``cli`` extra (``pip install -e '.[cli]'`` in a clone of the project).
It keeps its data in the embedded SQLite store, a file in the current directory unless
``--db`` or ``PROVISIONING_DB`` names another; ``docs/cli.md`` is the guide and documents every
``--format json`` schema.

Why these libraries: **click** parses arguments and options (nested command groups,
choices, file checks, environment variables, consistent usage errors with exit code 2)
and is typed, mature and widely used; **rich** draws the tables, colours them only when
the output is a terminal (and honours ``NO_COLOR``), and gives the progress bar and
spinner on stderr. Both are well kept and pure Python, so the extra adds no build step.

Exit codes: 0 success or valid; 1 the data or the request is refused (invalid rows, a
refused decision, a tripped safeguard, a stale plan); 2 a usage error or an unreadable
input. A user error is one line on stderr, never a traceback.
"""

from . import _scim  # noqa: F401 - registers the scim commands
from ._app import main

__all__ = ["main"]
