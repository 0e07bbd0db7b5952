"""DVC plots that render with no network: ``dvc plots show`` with an HTML template that carries Vega,
Vega-Lite and Vega-Embed inline.

DVC's own page loads those three scripts from a CDN, so offline it is blank. The template written here
holds them inline, taken from the ``vl-convert-python`` package (a runtime dependency: its
``javascript_bundle``), and has no ``{scripts}`` placeholder, so DVC adds no CDN tag:

    python -m fewshot.pipeline.plots                  # dvc plots show, offline page in dvc_plots/index.html
    python -m fewshot.pipeline.plots diff main        # dvc plots diff, the same way
    python -m fewshot.pipeline.plots template FILE    # only write the template (dvc plots show --html-template FILE)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# DVC's plot templates are Vega-Lite 5 specs; the bundle's Vega-Lite is the newest 5.x vl-convert ships
VEGA_LITE = "5.21"
TEMPLATE = Path(".dvc") / "tmp" / "offline-plots.html"  # beside DVC's other local state, ignored by git
SNIPPET = "window.vegaEmbed = vegaEmbed; window.vegaLite = vegaLite; window.vega = vega;"
PAGE = """<!DOCTYPE html>
<html>
<head>
    <meta charset="utf-8">
    {refresh_tag}
    <title>DVC Plot</title>
    <script type="text/javascript">
/* Vega, Vega-Lite {vega_lite} and Vega-Embed (BSD-3-Clause), bundled by vl-convert-python {vl_convert} */
(function () {
{bundle}
})();
    </script>
    <style>
        table {
            border-spacing: 15px;
        }
    </style>
</head>
<body>
    {plot_divs}
</body>
</html>
"""


def template() -> str:
    """The page template: DVC's own, with the scripts inline instead of its ``{scripts}`` CDN tags."""
    import vl_convert

    bundle = vl_convert.javascript_bundle(SNIPPET, vl_version=VEGA_LITE).replace("</script", "<\\/script")
    if any(mark in bundle for mark in ("{plot_divs}", "{scripts}", "{refresh_tag}")):
        raise RuntimeError("the bundled scripts hold one of DVC's template placeholders")
    page = PAGE.replace("{vega_lite}", VEGA_LITE).replace("{vl_convert}", vl_convert.__version__)
    return page.replace("{bundle}", bundle)


def write_template(path: str | Path = TEMPLATE) -> Path:
    """Write the template to ``path`` unless it already holds it; return the path."""
    path = Path(path)
    text = template()
    if not path.is_file() or path.read_text(encoding="utf8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf8")
        tmp.replace(path)
    return path


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["template"]:
        if len(argv) != 2:
            print("usage: python -m fewshot.pipeline.plots template FILE", file=sys.stderr)
            return 2
        print(write_template(argv[1]))
        return 0
    command = argv.pop(0) if argv[:1] in (["show"], ["diff"]) else "show"
    path = write_template()
    cmd = [sys.executable, "-m", "dvc", "plots", command, "--html-template", str(path), *argv]
    return subprocess.run(cmd).returncode


if __name__ == "__main__":
    raise SystemExit(main())
