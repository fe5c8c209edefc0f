"""Run a tutorial notebook in a fresh kernel and store the outputs nbval compares.

The notebooks are kept with the outputs of their ``nbval-check-output`` cells from a real
run, and every other output cleared; live widgets are stored as their text form only
(their widget-view data would show "model not found" in a freshly opened notebook). Run
it after changing a checked cell, then check with ``python3 -m pytest notebooks/``::

    python3 docs/store_notebook_outputs.py notebooks/en/06-connection-state-recovery.ipynb
    python3 docs/store_notebook_outputs.py notebooks/es/06-recuperacion-del-estado-de-conexion.ipynb

It prints each checked cell's text and how long the run took.
"""

from __future__ import annotations

import sys
import time

import nbformat
from nbclient import NotebookClient

CHECKED = "nbval-check-output"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def store(path: str) -> float:
    """Run ``path``, keep the checked cells' outputs, save it; return the run's seconds."""
    notebook = nbformat.read(path, as_version=4)
    started = time.monotonic()
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    seconds = time.monotonic() - started
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        if CHECKED in cell.metadata.get("tags", []):
            for output in cell.outputs:
                output.get("data", {}).pop(WIDGET_VIEW, None)
                if "data" in output and not output.data:
                    continue
                kept.append(output)
                if output.output_type == "stream":
                    print(output.text, end="")
        cell.outputs = kept
        if not kept:
            cell.execution_count = None   # nbval refuses outputs under an unrun cell
    notebook.metadata.pop("widgets", None)
    nbformat.write(notebook, path)
    return seconds


if __name__ == "__main__":
    for notebook_path in sys.argv[1:]:
        print(f"{notebook_path}: ran in {store(notebook_path):.1f} s")
