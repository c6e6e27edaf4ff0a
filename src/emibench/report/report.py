"""Execute the parameterised report notebook with papermill, then export it to standalone HTML."""

from __future__ import annotations

import json
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def parse_parameters(pairs: list[list[str]] | None) -> dict:
    """``-p key value`` pairs as notebook parameters; a value that parses as JSON is used parsed
    (lists, dicts, numbers), any other value stays a string."""
    params = {}
    for key, value in pairs or []:
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    return params


def execute_notebook(
    notebook: str | Path,
    out_notebook: str | Path,
    parameters: dict,
    kernel: str = "python3",
    timeout_s: int = 600,
    cwd: str | Path | None = None,
) -> None:
    """Run ``notebook`` with papermill into ``out_notebook``; parameters replace the cell tagged
    ``parameters``. ``cwd`` (default: the current folder) is where the kernel resolves paths."""
    import papermill as pm

    Path(out_notebook).parent.mkdir(parents=True, exist_ok=True)
    pm.execute_notebook(
        str(notebook),
        str(out_notebook),
        parameters=parameters,
        kernel_name=kernel,
        cwd=str(cwd or Path.cwd()),
        execution_timeout=timeout_s,
        progress_bar=False,
        log_output=False,
    )


# JupyterLab's HTML template without its two CDN scripts (require.js, MathJax): the report has
# no widgets or math, and must open offline.
_OFFLINE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{% block html_head_js_requirejs %}{% endblock %}
{% block html_head_js_mathjax %}{% endblock %}
"""


def export_html(notebook: str | Path, html: str | Path) -> int:
    """The executed notebook as one standalone HTML file: code inputs and prompts hidden, every
    image embedded as a data URI, no external script. Returns the file's size in bytes."""
    import nbformat
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab",
        template_file="emibench_offline.html.j2",
        extra_loaders=[DictLoader({"emibench_offline.html.j2": _OFFLINE_TEMPLATE})],
    )
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    exporter.embed_images = True
    body, _ = exporter.from_notebook_node(nbformat.read(str(notebook), as_version=4))
    Path(html).parent.mkdir(parents=True, exist_ok=True)
    Path(html).write_text(body, encoding="utf-8")
    return len(body.encode("utf-8"))
