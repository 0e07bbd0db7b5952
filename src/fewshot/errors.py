"""One error base for every input problem, and the guard that turns them into one clear line."""

from __future__ import annotations

import sys
from collections.abc import Callable


class FewshotError(ValueError):
    """Bad input: the message names the field and the fix."""


def run_main(main: Callable[[], None]) -> None:
    """Run a stage or command: a FewshotError prints ``error: ...`` and exits 2, without a traceback."""
    try:
        main()
    except FewshotError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
