"""Every language says everything: the lesson's catalogs and the widgets' labels have the same
keys, and each text the same {placeholders}, in English and Spanish."""

from __future__ import annotations

import string
from typing import Any

import pytest

from chatlib.jupyter.labels import LABELS, language_of, resolve_labels
from chatlib.lesson.texts import CATALOGS, texts


def _placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def _differences(english: Any, other: Any, where: str) -> list[str]:
    """Where ``other`` does not have the shape of ``english``: keys, list lengths, placeholders."""
    if isinstance(english, dict):
        if not isinstance(other, dict):
            return [f"{where}: a dict in English, {type(other).__name__} here"]
        found = [f"{where}.{key}: missing" for key in english.keys() - other.keys()]
        found += [f"{where}.{key}: not in English" for key in other.keys() - english.keys()]
        for key in english.keys() & other.keys():
            found += _differences(english[key], other[key], f"{where}.{key}")
        return found
    if isinstance(english, list):
        if not isinstance(other, list) or len(other) != len(english):
            return [f"{where}: {len(english)} items in English"]
        return [problem for index, (a, b) in enumerate(zip(english, other, strict=True))
                for problem in _differences(a, b, f"{where}[{index}]")]
    if isinstance(english, str):
        if not isinstance(other, str):
            return [f"{where}: text in English, {type(other).__name__} here"]
        if not other.strip():
            return [f"{where}: empty"]
        if _placeholders(english) != _placeholders(other):
            return [f"{where}: placeholders {sorted(_placeholders(other))}, English has "
                    f"{sorted(_placeholders(english))}"]
    return []


@pytest.mark.parametrize("language", sorted(set(CATALOGS) - {"en"}))
def test_every_lesson_catalog_has_the_english_sections_keys_and_placeholders(language):
    assert _differences(CATALOGS["en"], CATALOGS[language], language) == []


@pytest.mark.parametrize("language", sorted(set(LABELS) - {"en"}))
def test_every_widget_label_set_has_the_english_keys_and_placeholders(language):
    assert _differences(LABELS["en"], LABELS[language], language) == []


def test_the_lesson_speaks_the_languages_the_widgets_speak():
    assert set(CATALOGS) == set(LABELS)


def test_one_language_rule_for_codes_and_label_dicts():
    assert language_of("es") == "es"
    assert language_of({"language": "es", "send": "¡Envía!"}) == "es"
    assert language_of({"send": "Go"}) == "en"
    assert texts("exercise", {"language": "es"}) == texts("exercise", "es")
    assert resolve_labels({"language": "es", "send": "¡Envía!"})["disconnect"] == "Desconectar"
    with pytest.raises(ValueError, match="no lesson texts for 'fr'"):
        texts("exercise", "fr")
