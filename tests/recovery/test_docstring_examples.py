"""The examples in the public API's docstrings run as written."""

import doctest

import pytest

import chatlib.core.codec
import chatlib.core.memory
import chatlib.core.policy
import chatlib.core.store
import chatlib.sio.observe
import chatlib.sio.redact
import chatlib.stores.sqlite


@pytest.mark.parametrize("module", [chatlib.core.codec, chatlib.core.memory, chatlib.core.policy,
                                    chatlib.core.store,
                                    chatlib.stores.sqlite, chatlib.sio.redact,
                                    chatlib.sio.observe])
def test_docstring_examples(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
