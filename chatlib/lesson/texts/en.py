"""The lesson's texts in English: one section per step, exercise or piece.

Every catalog has the same sections and keys, with the same ``{placeholders}``
(tests/lesson/test_texts.py); ``chatlib.lesson.texts.texts(section, labels)`` picks one.
"""

from typing import Any

CATALOG: dict[str, dict[str, Any]] = {
    "cleanup": {
        "button": "Stop every server",
        "before": ("Click when you are done: every chat server of this notebook stops, and its "
                   "widgets say so."),
        "after": "Stopped. Server tasks left behind: {left}.",
    },
    "exercise": {
        "correct": "Correct",
        "not_yet": "Not yet",
        "hint": "Hint",
        "solution": "Solution",
        "more": "for a hint: {name}.hint(); the solution: {name}.solution()",
        "no_more": "that was the last hint; the solution: {name}.solution()",
        "arguments": "The check takes other arguments: {usage}.",
        "coroutine": ("That is a coroutine, an async function called without await: pass the "
                      "function itself, or await it first."),
        "raised": "Checking this answer raised {error}.",
    },
    "step6_offsets": {
        "title": "Exercise 1: predict the offsets",
        "hints": [
            ("The server numbers every event it stores, one after another, for the whole server (not "
             "per client): look at the offsets of the packets stored so far."),
            ("Alice has received every event up to her recovery offset (on her status line); she gets "
             "exactly the ones after it, and Bob is about to send three."),
        ],
        "solution": "answer = ['3', '4', '5']",
        "explanation": ("Bob's first two messages were stored at offsets 1 and 2, and Alice received "
                        "both (her recovery offset is 2). His next three are stored at 3, 4 and 5 while "
                        "she is away, so her reconnection presents offset 2 and the server replays "
                        "3, 4 and 5."),
        "none": "That is no offset at all: Bob sends three messages while Alice is away.",
        "count": "Bob sends three messages, and each one is stored: that is three offsets.",
        "wrong": "Those are not the offsets the server will use.",
        "right": ("Bob sent three messages and Alice reconnected: the wire shows ↻ {offsets} on her "
                  "lane, the replay of exactly what she missed."),
        "messages": ["first", "second", "three", "more", "messages"],
        "not_list": "Give the offsets as a list of texts, e.g. [\"1\", \"2\"].",
    },
    "step6_rooms": {
        "title": "Exercise 2: what comes back to a room",
        "hints": [
            ("A message goes to the sender's room only, and the server kept Alice's rooms while she "
             "was away: she is still in #general."),
            "Carol is in #random, where Alice is not.",
        ],
        "solution": "answer = ['lunch at noon?', 'I will book a table']",
        "explanation": ("Alice dropped from #general, and her kept session still lists #general. "
                        "Bob's two messages went to #general and were stored for it; Carol's went to "
                        "#random. A restore sends Alice what was sent to her rooms (or to everyone) "
                        "after her recovery offset: Bob's two, in order."),
        "none": "Some messages were sent to Alice's room while she was away.",
        "extra": "Alice would not receive all of those.",
        "missing": "Alice would receive more than that.",
        "right": ("Alice reconnected, still in #general without joining again: the wire shows ↻ "
                  "{offsets} on her lane, and nothing from #random."),
        "bob": ["lunch at noon?", "I will book a table"],
        "carol": "who took my stapler?",
        "not_list": "Give the messages' texts as a list, e.g. [\"hello\"].",
    },
    "step6_countdown": {
        "title": "Exercise 3: race the countdown",
        "hints": [
            ("Click Disconnect on Alice, send something from Bob, and watch “expires in” for Alice "
             "in the sessions table; click Connect before it reaches 0, then run the check."),
            ("For the second try, click Disconnect and wait until Alice's session is gone from the "
             "sessions table (more than 10 s); then click Connect and run the check."),
        ],
        "solution": ("# 1. Disconnect, Bob sends, Connect within 10 s  -> recovered: True\n# 2. "
                     "Disconnect, wait 11 s or more, Connect      -> recovered: False\nawait "
                     "ex3.check()   # after each try"),
        "explanation": ("The server keeps a dropped session, and the packets, for "
                        "max_disconnection_duration (10 s here, 2 minutes by default). Back in time, "
                        "Alice recovers; later, the session is gone and she starts a new one, with a "
                        "new id and nothing replayed."),
        "not_left": "Alice has not left yet.",
        "still_away": "Alice has been away for {away} so far: click Connect.",
        "in_time": "Back after {away}: recovered. Now the other half: stay away longer than {limit} s.",
        "too_late": ("Back after {away}: not recovered (a new id). Now the other half: come back "
                     "within {limit} s."),
        "both": ("You came back in time ({fast}: recovered) and too late ({slow}: a new session). "
                 "The limit is max_disconnection_duration."),
    },
    "step6_resync": {
        "title": "Exercise 4: resynchronise only when needed",
        "hints": [
            ("client.recovered is True when the session came back with its missed events; then there "
             "is nothing to fetch."),
            "if not client.recovered: resynchronise()",
        ],
        "solution": ("def on_connect(client, resynchronise):\n    if not client.recovered:\n        "
                     "resynchronise()"),
        "explanation": ("After a recovered reconnection the server has already sent what was missed; "
                        "after a new session it has not, so only then does the app fetch the state "
                        "itself."),
        "not_function": "Pass your function: await {name}.check(on_connect).",
        "ran": "{who} reconnected (recovered: {recovered}); your handler {did}.",
        "did": "resynchronised",
        "did_not": "did not resynchronise",
        "missed_new": ("Eve's new session needs a resynchronisation, and your handler did not ask "
                       "for one."),
        "extra": ("Dana recovered: she already has what she missed, so a resynchronisation is wasted "
                  "work."),
        "right": ("Dana recovered and needed nothing; Eve got a new session and your handler "
                  "resynchronised her."),
        "while_away": "sent while they were away",
        "raised": "Your on_connect raised {error} when {who} reconnected.",
        "too_slow": "Your on_connect was still running {seconds} s after {who} reconnected.",
        "hello": "hello",
    },
    "step7": {
        "said": "{name}: recovered {recovered} | catch-up: {what}",
        "not_needed": "not needed",
        "ids": "ids {ids}",
        "nothing": "nothing",
        "title": "Exercise 1: what the catch-up sends",
        "hints": [
            ("Alice's serverOffset (on her status line) is the id of the last message she received; "
             "the catch-up query asks for every id above it."),
            ("Every stored message takes the next id: Bob's first two messages are 1 and 2, and he "
             "sent three more while Alice was away."),
        ],
        "solution": "answer = [3, 4, 5]",
        "explanation": ("Alice received ids 1 and 2, so she connects with serverOffset 2. Her "
                        "session was not kept (a clean disconnect), so the connect handler runs the "
                        "query `id > 2` and sends 3, 4 and 5, each with its id."),
        "not_ids": "Give the ids as a list of numbers, e.g. [1, 2].",
        "wrong": "The catch-up would send other ids than these.",
        "right": ("Alice came back with serverOffset {offset}, not recovered; the catch-up sent ids "
                  "{ids}: {texts}."),
        "messages": ["one", "two", "three", "four", "five"],
    },
    "step8": {
        "title": "Exercise 1: exactly once",
        "hints": [
            ("A lost message comes back only if the client sends it again: that takes retries, and "
             "an ack_timeout shorter than the wait (1 s here)."),
            ("A retry of a message whose ack was only late is a second copy: the server can refuse "
             "it only if it can recognise it, by its client offset."),
        ],
        "solution": "answer = {\"retries\": 3, \"ack_timeout\": 0.5, \"client_offset\": True}",
        "explanation": ("retries with an ack_timeout under 1 s send the lost message again (at least "
                        "once); the client offset lets the UNIQUE constraint refuse the copy of the "
                        "late one, and the server still acks it (exactly once)."),
        "not_options": "Give the ChatWidget options as a dict, e.g. {\"retries\": 1}.",
        "unknown": "This exercise takes no option {keys}; the keys are among {allowed}.",
        "bad_retries": "retries is a whole number from 0 to 10, not {value}.",
        "bad_timeout": "ack_timeout is a number of seconds above 0 (at most 10), or None, not {value}.",
        "bad_offset": "client_offset is True or False, not {value}.",
        "messages": ["first", "second"],
        "stored": "Rows stored: “first” {first}, “second” {second}.",
        "lost": "“first” was lost on the way and never sent again.",
        "twice": "“second” was stored twice: the retry of a late ack is a new message to the server.",
        "right": ("Each message stored once: “first” was sent again after its loss, and the copy of "
                  "“second” was refused (UNIQUE) and acknowledged."),
    },
    "step9": {
        "title": "Exercise 1: a third server joins",
        "hints": [
            ("Messages cross servers through the client manager: every server must publish to, and "
             "listen on, the same Redis."),
            ("Recovery on another server needs the sessions and the packets where every server finds "
             "them: the recovery store too must be in that Redis."),
        ],
        "solution": ("def options(url):\n    return {\"store\": chatlib.RedisStore(url),\n           "
                     " \"client_manager\": socketio.AsyncRedisManager(url)}"),
        "explanation": ("AsyncRedisManager carries every emit to the other servers; RedisStore keeps "
                        "the sessions and packets in the same Redis, so north can give Kim back the "
                        "session east kept for her."),
        "not_function": "Give a function: options(url) returns the server's options as a dict.",
        "crossed": "Jon's message on west reached Kim on north: {crossed}.",
        "recovered": "Kim dropped from east and came back on north: recovered {recovered}.",
        "right": ("Messages cross, and north restored Kim's session with what she missed, without a "
                  "catch-up."),
        "raised": "Your options(url) raised {error}.",
        "not_dict": "options(url) should return a dict of start_chat_server options, not a {got}.",
        "step": "north serves step 7's chat, as east and west do: leave step out, or step=7.",
        "refused": "start_chat_server refused these options: {error}.",
        "while_away": "while Kim was away",
        "hello_north": "hello north",
    },
    "story": {
        "quoted": "“{text}”",
        "nothing": "nothing",
        "and": " and ",
        "typing_for_you": ("Not yet: {sender} has sent nothing. Typing “{text}” in {sender}'s box "
                           "and clicking Send for you."),
        "you_sent": "✓ You sent “{text}” from {sender}.",
        "stored": ("The server stored “{text}” at offset {offset} and sent it to everyone connected; "
                   "{names} received it."),
        "last_offsets": "Recovery offsets (the last one each client received): {offsets}.",
        "still_connected": "Not yet: {name} is still connected. Clicking Disconnect for {name}.",
        "you_disconnected": "✓ You clicked Disconnect on {name}.",
        "kept": ("{name} is disconnected, and the server keeps the session: server.is_kept(sid) is "
                 "{kept}."),
        "on_the_wire": "On the wire, {name}'s lane ends with “{drop}”.",
        "nothing_missed": ("Not yet: nothing was sent since {name} left. Typing “{text}” in "
                           "{sender}'s box and clicking Send for you."),
        "missed": "Stored for {name}, who is away: {rows}. That is what a restore would send now.",
        "in_buffer": "The buffer view marks it ↻ {name}.",
        "got_nothing": "{name} received none of it.",
        "still_away": "Not yet: {name} is still disconnected. Clicking Connect for {name}.",
        "you_connected": "✓ You clicked Connect on {name}.",
        "back": "{name} is back. recovered: {recovered}; same id as before: {same}.",
        "replayed": "Replayed to {name} (↻ in the widget and on the wire): {texts}.",
        "presented": "On the wire, {name}'s CONNECT presented offset {offset}.",
        "noticed": ("{name}'s client stopped answering and closed nothing. The server noticed only "
                    "at the ping timeout (ping interval + ping timeout: {limit} s here), and keeps "
                    "the session: is_kept: {kept}. The “{drop}” on the wire is that moment."),
        "forgotten_at_once": ("{name} said goodbye (a DISCONNECT packet on the wire): the server "
                              "forgot the session at once, is_kept: {kept}."),
        "not_kept": "{sender} sent “{text}”; nothing is kept for {name}, whose session is gone.",
        "expired": ("Time passed: after max_disconnection_duration ({duration} s) the server forgot "
                    "{name}'s session, is_kept: {kept}."),
        "buffer_forgot": "The buffer view no longer lists {name}'s session, nor what was kept for it.",
    },
    "local_redis": {
        "missing": ("redis-server is not installed, so this part is skipped. To run it: `sudo apt-get "
                    "install redis-server` (Debian, Ubuntu), `brew install redis` (macOS) or `conda install"
                    " -c conda-forge redis-server`, then restart the kernel."),
    },
}
