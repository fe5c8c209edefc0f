"""nbval's references for the tutorial notebooks, kept beside them.

The notebooks are stored without outputs, so that a notebook opened fresh shows nothing the
reader has not done. The outputs nbval compares (the cells tagged ``nbval-check-output``, in
``--nbval-lax``) are in ``checked_outputs/<language>/<notebook>.json``, by cell id, written by
``docs/store_notebook_outputs.py``; this hook gives them to each collected cell as its
reference. A checked cell with no stored output is compared with no output, so it fails
rather than going unchecked.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import nbformat

CHECKED = "nbval-check-output"


@lru_cache(maxsize=None)
def _references(notebook: str) -> dict:
    path = Path(notebook)
    stored = path.parent.parent / "checked_outputs" / path.parent.name / (path.stem + ".json")
    return json.loads(stored.read_text(encoding="utf-8")) if stored.exists() else {}


def pytest_collection_modifyitems(items):
    for item in items:
        cell = getattr(item, "cell", None)
        path = str(getattr(item, "fspath", ""))
        if cell is None or not path.endswith(".ipynb"):
            continue
        if CHECKED in cell.metadata.get("tags", []):
            outputs = _references(path).get(cell.get("id"), [])
            cell.outputs = [nbformat.from_dict(output) for output in outputs]
            cell.execution_count = 1   # nbval compares only the cells it sees as run
