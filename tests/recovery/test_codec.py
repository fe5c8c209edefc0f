"""chatlib.core.codec: what the stores that leave the process write, and read back checked."""

import json
import os
import pickle

import pytest

from chatlib.core import codec

VALUES = [
    None, True, False, 0, -7, 2 ** 70, 1.5, "", "más ☃", b"", b"\x00\xff" * 10, [], {},
    {"name": "Alice", "avatar": b"\x89PNG", "tags": ["x", "y"], "n": {"deep": [1, {"b": b"1"}]}},
    {"$bytes": "not a tag: the app's own key"}, {"$$x": 1, "$": 2, "a$": 3},
    [{"$bytes": b"\x01"}], ["2[\"m\",1]", b"\x00", b"\xff"],
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_what_is_stored_comes_back_equal_and_of_the_same_types(value):
    back = codec.loads(codec.dumps(value))
    assert back == value and repr(back) == repr(value)
    assert codec.loads(codec.dumps(value).encode()) == value


@pytest.mark.parametrize("value, kind", [
    ((1, 2), "tuple"), ({1, 2}, "set"), ({1: "a"}, "dict key of type int"), (bytearray(b"x"), "bytearray"),
    (object(), "object"), ([1, lambda: None], "function"), ({"a": {"b": {2}}}, "set"),
])
def test_what_json_and_bytes_cannot_hold_is_refused_by_its_type(value, kind):
    with pytest.raises(codec.Unencodable) as refused:
        codec.dumps(value)
    assert refused.value.kind == kind


def test_storable_keeps_the_same_dict_when_all_of_it_can_be_stored():
    data = {"name": "Alice", "avatar": b"\x00"}
    assert codec.storable(data) == (data, []) and codec.storable(data)[0] is data


def test_storable_leaves_out_each_key_that_cannot_be_stored_and_names_its_type():
    data = {"name": "Alice", "seen": {1}, "at": (1, 2), 3: "x", "ok": [b"\x00"]}
    kept, left_out = codec.storable(data)
    assert kept == {"name": "Alice", "ok": [b"\x00"]}
    assert left_out == [("seen", "set"), ("at", "tuple"), ("3", "dict key of type int")]
    assert codec.storable({1, 2}) == (None, [("", "set")])


class Mark:
    """Unpickling this creates a file: the mark that code ran."""

    path = ""

    def __reduce__(self):
        return (open, (self.path, "w"))


def hostile_pickles(path):
    Mark.path = str(path)
    return [pickle.dumps({"name": Mark()}, protocol=protocol) for protocol in range(6)]


def test_a_pickle_is_unreadable_and_runs_nothing(tmp_path):
    mark = tmp_path / "mark"
    for stored in hostile_pickles(mark):
        with pytest.raises(codec.Unreadable):
            codec.loads(stored)
        with pytest.raises(codec.Unreadable):
            codec.loads(stored.decode("latin-1"))
    assert not mark.exists()
    pickle.loads(hostile_pickles(mark)[0])["name"].close()  # the mark works when unpickled
    assert mark.exists()
    os.remove(mark)


@pytest.mark.parametrize("stored", [
    b"\x80\x04\x95", b"\xff\xfe", "", "{", '{"a": 1', "[1, 2", "nope", "{'a': 1}",
    '{"$bytes": "***"}', '{"$bytes": 5}', '{"$bytes": "AA==", "x": 1}', '{"$code": "x"}',
    '{"a": 1, "a": 2}', "[" * 100_000 + "]" * 100_000, 5, None, ["x"],
], ids=lambda value: repr(value)[:30])
def test_garbage_truncated_or_foreign_text_is_unreadable(stored):
    with pytest.raises(codec.Unreadable):
        codec.loads(stored)


@pytest.mark.parametrize("text", [json.dumps([{"$bytes": "AA=="}]), json.dumps(["a", {"$bytes": "AA=="}])])
def test_attachments_and_binary_packets_are_checked_for_their_shape(text):
    parts = json.loads(text)
    if isinstance(parts[0], str):
        assert codec.loads_binary_packet(text) == ["a", b"\x00"]
        with pytest.raises(codec.Unreadable):
            codec.loads_attachments(text)
    else:
        assert codec.loads_attachments(text) == [b"\x00"]
        with pytest.raises(codec.Unreadable):
            codec.loads_binary_packet(text)
    assert codec.loads_binary_packet('{"$bytes": "g6R0eXBl"}') == b"\x83\xa4type"  # msgpack
    for wrong in ("[]", '["a"]', '[1, {"$bytes": "AA=="}]', '{"a": 1}', '"text"',
                  '{"$bytes": ""}'):
        with pytest.raises(codec.Unreadable):
            codec.loads_attachments(wrong)
        with pytest.raises(codec.Unreadable):
            codec.loads_binary_packet(wrong)
