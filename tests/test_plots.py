"""Plots that render offline: `python -m fewshot.pipeline.plots` runs the real `dvc plots show` with a
template carrying Vega, Vega-Lite and Vega-Embed inline, so the page loads no script from the network."""

import re
import subprocess
import sys

from test_pipeline import sh

from fewshot.pipeline import plots

REMOTE_SCRIPT = re.compile(r"<script[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//", re.I)


def test_the_template_holds_the_scripts_and_no_cdn_tag():
    page = plots.template()
    assert "{plot_divs}" in page and "{scripts}" not in page  # DVC adds its CDN tags only at {scripts}
    assert not REMOTE_SCRIPT.search(page)
    assert "window.vegaEmbed" in page and len(page) > 500_000
    assert page.count("</script>") == 1  # the bundle cannot close its own tag


def test_dvc_plots_show_writes_a_page_that_needs_no_network(tmp_path):
    sh(tmp_path, "git", "init", "-q")
    sh(tmp_path, sys.executable, "-m", "dvc", "init", "-q")
    (tmp_path / "loss.csv").write_text("step,loss\n1,0.5\n2,0.3\n3,0.2\n")
    (tmp_path / "confusion.json").write_text('[{"actual": "a", "predicted": "a"}, {"actual": "b", "predicted": "a"}]')
    (tmp_path / "dvc.yaml").write_text(
        "plots:\n  - loss.csv:\n      x: step\n      y: loss\n"
        "  - confusion.json:\n      template: confusion\n      x: actual\n      y: predicted\n"
    )
    cmd = [sys.executable, "-m", "fewshot.pipeline.plots"]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    page = (tmp_path / "dvc_plots" / "index.html").read_text()
    assert not REMOTE_SCRIPT.search(page) and "cdn.jsdelivr" not in page
    assert page.count("vegaEmbed('#") == 2  # both plots, drawn by the inline scripts
    assert (tmp_path / plots.TEMPLATE).read_text() == plots.template()


def test_template_only(tmp_path):
    assert plots.main(["template", str(tmp_path / "t.html")]) == 0
    assert (tmp_path / "t.html").read_text() == plots.template()
    assert plots.main(["template"]) == 2
