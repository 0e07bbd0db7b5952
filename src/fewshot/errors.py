"""Every exception fewshot raises, and the guard that turns them into one clear line.

All derive from :class:`FewshotError` (a ``ValueError``): bad input whose message names the field or
file and the fix. Stages and the ``fewshot`` command print it as ``error: ...`` and exit with status 2.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

EXIT_STATUS = 2


class FewshotError(ValueError):
    """Bad input: the message names the field and the fix."""


class ParamsError(FewshotError):
    """A params file or mapping that does not validate; the message names the key and the fix."""


class DataError(FewshotError):
    """Input data that cannot be used."""


class ModelNotFoundError(FewshotError):
    """A model reference that is neither a directory, a known offline model, nor reachable on the hub."""


class PairsError(FewshotError):
    """Pairs that cannot be built from the given labels and settings."""


class BatchingError(FewshotError):
    """An unknown batching mode or pairs that cannot be grouped."""


class LossError(FewshotError):
    """A loss name or setting that cannot be used."""


class TrainingError(FewshotError):
    """Body training that cannot start with the given inputs."""


class HeadError(FewshotError):
    """A head that cannot be built, fitted or loaded."""


class ModelError(FewshotError):
    """A model directory that cannot be loaded, or inputs a model cannot take."""


class DistillError(FewshotError):
    """Inputs that distillation cannot use."""


class FormatError(FewshotError):
    """A model that cannot be exported to, or imported from, another format."""


class CliError(FewshotError):
    """Bad command-line input: the message names the argument and the fix."""


def run_main(main: Callable[[], None]) -> None:
    """Run a stage or command: a FewshotError prints ``error: ...`` and exits 2, without a traceback.

    When ``main`` returns, the process ends at once, its streams and logging flushed: its outputs are
    written and closed, and the interpreter's teardown of the modules torch, transformers and MLflow load
    takes seconds, in every stage of every run (call it last, as a script's ``__main__`` does)."""
    try:
        main()
    except FewshotError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(EXIT_STATUS)
    import logging
    import os

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
