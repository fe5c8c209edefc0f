"""A notebook opened fresh is a fresh start: no outputs, no execution counts, no widget state
stored in it (a stored "Not yet… clicking Send for you" or a count [6] reads as if the lesson
had already run, or failed). What nbval compares is kept beside the notebooks instead
(notebooks/checked_outputs, written by docs/store_notebook_outputs.py), one reference for
every checked cell, so nbval still checks what it checked."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
CHECKED = "nbval-check-output"
PATHS = sorted(NOTEBOOKS.glob("*/*.ipynb"))
IDS = [f"{path.parent.name}/{path.name}" for path in PATHS]


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_a_fresh_notebook_shows_no_run_it_has_not_had(path):
    notebook = nbformat.read(path, as_version=4)
    stale = [(index, cell.execution_count, [output.get("output_type") for output in cell.outputs])
             for index, cell in enumerate(notebook.cells)
             if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)]
    assert stale == [], f"{path.name}: cells stored with a run's outputs or counts: {stale}"
    assert "widgets" not in notebook.metadata


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_every_checked_cell_has_a_reference_for_nbval(path):
    notebook = nbformat.read(path, as_version=4)
    checked = {cell.id for cell in notebook.cells
               if cell.cell_type == "code" and CHECKED in cell.metadata.get("tags", [])}
    stored = NOTEBOOKS / "checked_outputs" / path.parent.name / (path.stem + ".json")
    references = json.loads(stored.read_text(encoding="utf-8"))
    assert checked and set(references) == checked
    assert all(references[cell] for cell in checked), "a checked cell with no output to compare"
