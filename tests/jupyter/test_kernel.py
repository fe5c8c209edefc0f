"""The tutorial's cells in a real IPython kernel: the server, two widgets, drops, interrupts."""

import re
import urllib.request

import pytest

from tests.services import free_port

from .kernel import SERVER_TASKS, CellError, Kernel

pytestmark = pytest.mark.kernel

START = """
import chatlib
server = await chatlib.start_chat_server(port={port}, replace=True)
alice = chatlib.ChatWidget(server, "Alice", mode="{mode}")
bob = chatlib.ChatWidget(server, "Bob")
display(alice, bob, chatlib.BufferView(server))
await alice.connect()
await bob.connect()
"""


@pytest.fixture
def kernel():
    kernel = Kernel()
    yield kernel
    kernel.shutdown()


def start(kernel, port=0, mode="drop"):
    kernel.run(START.format(port=port, mode=mode))
    url = kernel.eval("server.url")
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url), url
    return url


def serves(url):
    with urllib.request.urlopen(url + "/", timeout=5) as response:
        return response.status == 200


def refuses(url):
    try:
        urllib.request.urlopen(url + "/", timeout=5)
    except OSError:
        return True
    return False


def test_a_dropped_widget_recovers_the_message_it_missed(kernel):
    url = start(kernel)
    assert serves(url)
    kernel.run('sid = alice.sid\nawait alice.disconnect()\nawait bob.send("realtime")')
    assert kernel.eval('"realtime" in alice.messages') is False
    kernel.run('await alice.connect()\n'
               'await alice.wait_for_message("realtime")\n'
               'await bob.send("sentinel")\n'
               'await alice.wait_for_message("sentinel")')
    assert kernel.eval('(alice.messages.count("realtime"), alice.client.recovered, '
                       'alice.sid == sid)') == (1, True, True)


def test_a_clean_disconnect_is_not_recovered_and_misses_the_message(kernel):
    start(kernel, mode="clean")
    kernel.run('sid = alice.sid\nawait alice.disconnect()\nawait bob.send("realtime")')
    kernel.run('await alice.connect()\n'
               'await bob.send("sentinel")\n'
               'await alice.wait_for_message("sentinel")')
    assert kernel.eval('("realtime" in alice.messages, alice.client.recovered, '
                       'alice.sid == sid)') == (False, False, False)


def test_front_end_clicks_run_without_blocking_the_kernel(kernel):
    start(kernel)
    model_id = kernel.eval("alice.toggle_button.model_id")
    kernel.click(model_id)  # Disconnect, as a browser sends it
    kernel.run("await alice.wait_idle()\nawait bob.send('realtime')")
    assert kernel.eval("(alice.connected, alice.toggle_button.description)") == (
        False, "Connect")
    kernel.click(model_id)  # Connect
    kernel.run("await alice.wait_idle()\nawait alice.wait_for_message('realtime')")
    assert kernel.eval("(alice.connected, alice.client.recovered, alice.errors)") == (
        True, True, [])


@pytest.mark.parametrize("cell", [
    "import time\nprint('started', flush=True)\ntime.sleep(60)",
    "i = 0\nprint('started', flush=True)\nwhile True:\n"
    "    i += 1\n    await bob.send(f'tick {i}')\n    await alice.wait_for_message(f'tick {i}')",
], ids=["blocking", "chatting"])
def test_interrupting_a_long_cell_leaves_the_server_serving(kernel, cell):
    url = start(kernel)
    msg_id = kernel.start(cell)
    kernel.wait_for_output(msg_id, "started")
    kernel.manager.interrupt_kernel()
    reply = kernel.reply(msg_id, timeout=10)
    assert reply["status"] == "error"
    assert reply["ename"] in ("KeyboardInterrupt", "CancelledError")
    assert serves(url)
    kernel.run('await bob.send("after")\nawait alice.wait_for_message("after")')
    assert kernel.eval("(server.running, alice.connected, bob.connected)") == (True, True, True)
    assert kernel.manager.is_alive()


@pytest.mark.parametrize("fixed_port", [True, False], ids=["port", "port-0"])
def test_running_the_start_cell_twice_replaces_the_server(kernel, fixed_port):
    port = free_port() if fixed_port else 0
    first = start(kernel, port=port)
    kernel.run("old_server, old_alice = server, alice")
    second = start(kernel, port=port)
    assert (first == second) is fixed_port
    assert serves(second)
    if not fixed_port:
        assert refuses(first)
    assert kernel.eval("(old_server.running, old_alice.connected, server.running)") == (
        False, False, True)
    kernel.run('await bob.send("hello again")\nawait alice.wait_for_message("hello again")')


def test_stop_leaves_nothing_running(kernel):
    kernel.run(SERVER_TASKS + "before = set(server_tasks())")
    url = start(kernel)
    kernel.run('await bob.send("hi")\nawait alice.wait_for_message("hi")')
    kernel.run("await server.stop()")
    assert kernel.eval("([str(t) for t in set(server_tasks()) - before], "
                       "alice.connected, bob.connected)") == ([], False, False)
    assert refuses(url)


def test_kernel_shutdown_closes_the_server(kernel):
    url = start(kernel)
    kernel.shutdown()
    assert not kernel.manager.is_alive()
    assert refuses(url)


def test_a_failing_cell_reports_its_error(kernel):
    with pytest.raises(CellError) as failure:
        kernel.run("1 / 0")
    assert failure.value.ename == "ZeroDivisionError"
    with pytest.raises(CellError):
        kernel.eval("undefined_name")
