"""Run a tutorial notebook in a fresh kernel and store the outputs nbval compares, beside it.

A notebook opened fresh must show nothing the reader has not done: no outputs, no execution
counts ("Not yet: Bob has sent nothing… clicking Send for you" under a cell nobody ran reads
as if the lesson had already run, or failed). So the ``.ipynb`` files are stored clean, and
the outputs of their ``nbval-check-output`` cells from a real run are stored in
``notebooks/checked_outputs/<language>/<notebook>.json``, by cell id; ``notebooks/conftest.py``
hands them to nbval as each cell's reference, so ``python3 -m pytest notebooks/`` compares
what it always compared. Live widgets are kept as their text form only (``Strip(Alice, Bob,
…)``: their widget-view data would not match a new run). Run it after changing a checked
cell, or a text a checked cell prints::

    python3 docs/store_notebook_outputs.py notebooks/en/06-connection-state-recovery.ipynb
    python3 docs/store_notebook_outputs.py notebooks/*/*.ipynb

It prints each checked cell's text and how long the run took.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

CHECKED = "nbval-check-output"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def outputs_file(notebook: Path) -> Path:
    """Where the checked outputs of ``notebook`` (notebooks/<language>/<name>.ipynb) are kept."""
    return notebook.parent.parent / "checked_outputs" / notebook.parent.name / (
        notebook.stem + ".json")


def clean(notebook: nbformat.NotebookNode) -> None:
    """Clear every output, execution count and widget state: the notebook as first opened."""
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    notebook.metadata.pop("widgets", None)


def store(path: str) -> float:
    """Run ``path``, store its checked cells' outputs beside it, save it clean; return seconds."""
    notebook = nbformat.read(path, as_version=4)
    clean(notebook)
    ran = nbformat.from_dict(json.loads(json.dumps(notebook)))
    started = time.monotonic()
    NotebookClient(ran, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(Path(path).parent)}}).execute()
    seconds = time.monotonic() - started
    checked: dict[str, list] = {}
    for cell in ran.cells:
        if cell.cell_type != "code" or CHECKED not in cell.metadata.get("tags", []):
            continue
        kept = []
        for output in cell.outputs:
            output.get("data", {}).pop(WIDGET_VIEW, None)
            if "data" in output and not output.data:
                continue
            output.pop("execution_count", None)
            kept.append(output)
            if output.output_type == "stream":
                print(output.text, end="")
        checked[cell.id] = kept
    target = outputs_file(Path(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(checked, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    nbformat.write(notebook, path)
    return seconds


if __name__ == "__main__":
    for notebook_path in sys.argv[1:]:
        print(f"{notebook_path}: ran in {store(notebook_path):.1f} s")
