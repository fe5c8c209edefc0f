"""The examples in the recovery core's docstrings run as written."""

import doctest

import pytest

import chatlib.recovery.memory
import chatlib.recovery.policy
import chatlib.recovery.sqlite
import chatlib.redact


@pytest.mark.parametrize("module", [chatlib.recovery.memory, chatlib.recovery.policy,
                                    chatlib.recovery.sqlite, chatlib.redact])
def test_docstring_examples(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
