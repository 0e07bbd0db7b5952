"""The pipeline: the params schema, MLflow tracking, torchrun launch. The only code that knows DVC and
MLflow; the stage scripts in ``stages/`` import it, the library never does.

Importing it keeps a stage's logs clean where no person watches (CI, output piped to a file): the
progress bars of tqdm, the hub and datasets are turned off through their environment switches.
"""

from __future__ import annotations

import os as _os

from fewshot.runtime import progress_enabled as _progress_enabled

if not _progress_enabled():
    for _name in ("TQDM_DISABLE", "HF_HUB_DISABLE_PROGRESS_BARS", "HF_DATASETS_DISABLE_PROGRESS_BARS"):
        _os.environ.setdefault(_name, "1")
