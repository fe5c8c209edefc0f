"""``python -m chatlib --port N``: prints its URL, serves the page, stops on SIGTERM."""

import socket
import urllib.request

import pytest

from tests.services import free_port


def test_runs_on_the_given_port_prints_the_url_and_serves_the_page(chat_process):
    port = free_port()
    process = chat_process("--port", str(port))
    line = process.stdout.readline()  # blocks until the server accepts, or the process ends
    assert line.strip() == f"server running at http://localhost:{port}", process.stderr.read()
    url = line.split()[-1]
    with urllib.request.urlopen(url + "/", timeout=5) as response:
        assert response.status == 200
        assert b"cdn.socket.io" in response.read()
    process.terminate()
    assert process.wait(timeout=10) == 0
    with pytest.raises(OSError):
        urllib.request.urlopen(url + "/", timeout=5)


def test_a_taken_port_is_a_clear_error(chat_process):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        process = chat_process("--port", str(taken.getsockname()[1]))
        assert process.wait(timeout=30) != 0
        assert "cannot listen on" in process.stderr.read()
