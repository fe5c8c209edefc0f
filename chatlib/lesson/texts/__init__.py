"""The lesson's words: one catalog per language (``en.py``, ``es.py``), one section per piece.

A section is a dict of texts, lists of texts or numbers, the same keys in every catalog with
the same ``{placeholders}`` (tests/lesson/test_texts.py holds them to that).

Example::

    >>> texts("exercise", "es")["not_yet"]
    'Todavía no'
    >>> texts("exercise", {"language": "en"})["hint"]
    'Hint'
"""

from __future__ import annotations

from typing import Any

from ...jupyter.labels import Labels, language_of
from . import en, es

CATALOGS: dict[str, dict[str, dict[str, Any]]] = {"en": en.CATALOG, "es": es.CATALOG}


def texts(section: str, labels: Labels = "en") -> dict[str, Any]:
    """The texts of ``section`` in the language of ``labels`` (a code, or a labels dict)."""
    language = language_of(labels)
    if language not in CATALOGS:
        raise ValueError(f"no lesson texts for {language!r}; known: {', '.join(CATALOGS)}")
    return CATALOGS[language][section]
