"""Scratch files for the lesson: a temporary folder per kernel, removed when the kernel exits."""

from __future__ import annotations

import os
import tempfile

_scratch: tempfile.TemporaryDirectory | None = None


def scratch_path(name: str) -> str:
    """A path ``name`` in a temporary folder of this kernel, removed when the kernel exits.

    Example::

        store = chatlib.SQLiteStore(step6.scratch_path("recovery.db"))
    """
    global _scratch
    if _scratch is None:
        _scratch = tempfile.TemporaryDirectory(prefix="chatlib-lesson-")
    return os.path.join(_scratch.name, name)
