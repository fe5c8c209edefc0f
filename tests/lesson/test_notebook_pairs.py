"""Each Spanish notebook is its English twin cell for cell: the same cells in the same order,
with the same types and tags, the same headings at the same levels, every exercise under its
statement ("Exercise N" / "Ejercicio N"), and no markdown cell left empty."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
EXERCISE_WORD = {"en": "Exercise", "es": "Ejercicio"}
#: a cell that makes an exercise: ``ex1 = await step6.offsets_exercise(...)``
MAKES_EXERCISE = re.compile(r"^\s*(\w+?)(\d+) = (?:await )?step\d\.\w+_exercise\(", re.MULTILINE)
HEADING = re.compile(r"^(#{1,6}) (.+)$", re.MULTILINE)


def _step(path: Path) -> str:
    return path.name.split("-", 1)[0]


def _pairs() -> list[tuple[Path, Path]]:
    spanish = {_step(path): path for path in sorted((NOTEBOOKS / "es").glob("*.ipynb"))}
    return [(english, spanish[_step(english)])
            for english in sorted((NOTEBOOKS / "en").glob("*.ipynb"))]


def _all() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*/*.ipynb"))


def _cells(path: Path) -> list:
    return nbformat.read(path, as_version=4).cells


def _headings(source: str) -> list[int]:
    # fenced code (``# index.js`` comments) holds no headings
    prose = re.sub(r"```.*?```", "", source, flags=re.DOTALL)
    return [len(hashes) for hashes, _ in HEADING.findall(prose)]


def test_every_english_notebook_has_a_spanish_twin():
    steps = lambda folder: sorted(_step(path) for path in (NOTEBOOKS / folder).glob("*.ipynb"))  # noqa: E731
    assert steps("en") == steps("es") and steps("en")


@pytest.mark.parametrize("english, spanish", _pairs(), ids=lambda path: path.name)
def test_the_twins_have_the_same_cells_types_tags_and_headings(english, spanish):
    en, es = _cells(english), _cells(spanish)
    assert len(es) == len(en), f"{spanish.name} has {len(es)} cells, {english.name} {len(en)}"
    for index, (a, b) in enumerate(zip(en, es, strict=True)):
        where = f"cell {index}"
        assert b.cell_type == a.cell_type, where
        assert b.metadata.get("tags", []) == a.metadata.get("tags", []), where
        if a.cell_type == "markdown":
            assert _headings(b.source) == _headings(a.source), f"{where}: heading levels"


@pytest.mark.parametrize("path", _all(), ids=lambda path: f"{path.parent.name}/{path.name}")
def test_no_markdown_cell_is_empty(path):
    empty = [index for index, cell in enumerate(_cells(path))
             if cell.cell_type == "markdown" and not cell.source.strip()]
    assert empty == [], f"empty markdown cells in {path.name}: {empty}"


@pytest.mark.parametrize("path", _all(), ids=lambda path: f"{path.parent.name}/{path.name}")
def test_every_exercise_comes_right_after_its_statement(path):
    word = EXERCISE_WORD[path.parent.name]
    cells = _cells(path)
    made = [(index, int(match.group(2))) for index, cell in enumerate(cells)
            if cell.cell_type == "code" for match in MAKES_EXERCISE.finditer(cell.source)]
    assert made, f"{path.name} makes no exercise"
    for index, number in made:
        before = cells[index - 1]
        statement = before.source if before.cell_type == "markdown" else ""
        heading = HEADING.search(statement)
        assert heading and heading.group(2).startswith(f"{word} {number}:"), (
            f"cell {index} makes exercise {number}; the cell before it should state it under "
            f"a heading \"{word} {number}: …\"")
        assert len(statement.split()) > 20, f"cell {index - 1}: the statement says too little"
