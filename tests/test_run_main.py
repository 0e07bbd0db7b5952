"""fewshot.errors.run_main, the last call of every stage script: bad input is one line and status 2; a stage
that finished ends at once, skipping the interpreter's teardown, with everything it printed or logged out."""

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import atexit, logging, sys
    from fewshot.errors import DataError, run_main

    logging.basicConfig(stream=sys.stderr, level=logging.INFO)
    atexit.register(lambda: print("teardown ran"))

    def main():
        for i in range(5000):
            print(f"line {i}")  # block-buffered: stdout is a pipe
        logging.getLogger("stage").info("logged")
        if sys.argv[1] == "bad":
            raise DataError("data.train: no such file. Fix: give a Parquet file")

    run_main(main)
    """
)


def _run(tmp_path, how: str) -> subprocess.CompletedProcess:
    script = tmp_path / "stage.py"
    script.write_text(SCRIPT)
    return subprocess.run([sys.executable, str(script), how], capture_output=True, text=True, timeout=120)


def test_a_finished_stage_ends_at_once_with_its_output_flushed(tmp_path):
    done = _run(tmp_path, "ok")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert len(lines) == 5000 and lines[-1] == "line 4999"
    assert "teardown ran" not in done.stdout  # the exit skipped the interpreter's teardown
    assert "INFO:stage:logged" in done.stderr


def test_bad_input_is_one_line_and_status_2(tmp_path):
    bad = _run(tmp_path, "bad")
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines()[-1] == "error: data.train: no such file. Fix: give a Parquet file"
    assert "Traceback" not in bad.stderr
    assert bad.stdout.splitlines()[-2:] == ["line 4999", "teardown ran"]
