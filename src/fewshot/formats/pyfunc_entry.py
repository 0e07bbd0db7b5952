"""The code of a fewshot MLflow model (models from code): no pickled object, see fewshot.formats.pyfunc."""

import mlflow

from fewshot.formats.pyfunc import FewShotPyfunc

mlflow.models.set_model(FewShotPyfunc())
