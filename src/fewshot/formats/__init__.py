"""Other formats a fewshot model travels in: setfit's directory (:mod:`fewshot.formats.setfit`) and the
MLflow pyfunc model (:mod:`fewshot.formats.pyfunc`)."""
