"""The code of a fewshot MLflow model (models from code): no pickled object, see fewshot.pyfunc."""

import mlflow

from fewshot.pyfunc import FewShotPyfunc

mlflow.models.set_model(FewShotPyfunc())
