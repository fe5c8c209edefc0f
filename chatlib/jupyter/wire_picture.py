"""The WireView's picture: a sequence diagram of packets, drawn as inline SVG.

One vertical lane for the server and one per client; time runs down the
page, one packet per line. A packet is an arrow between the server's lane
and its client's, labelled with its encoded text; hovering it shows the
whole text and the details (SVG ``<title>``). Replayed packets are orange
and dashed, marked ↻; a lost connection is a red ✕ on the client's lane,
with a red stretch from the moment the client went silent to the moment
the server noticed. Everything is drawn here, no script and no CDN.

The picture is as wide as the room it is given and is never scaled: its text
keeps its 12 px at any width. The server's lane sits at a fixed distance from
the left edge and the last client's at a fixed distance from the right one;
the lanes between share the rest evenly. A lane is placed with a percentage of
the picture's width plus a fixed shift (SVG resolves ``x="50%"`` against the
width it is shown at, and a ``translate`` adds the shift). Below ``min_width``
the picture stops shrinking and its container scrolls sideways.
"""

from __future__ import annotations

import html

from .labels import elapsed, number, seconds

_GUTTER = 64        # room for the time labels, left of the server's lane
_SERVER_X = 110
_RIGHT = 60         # from the last lane to the right edge: half a lane name's box
_MIN_WIDTH = 540    # the narrowest picture: at 1366 px, the strip's column beside two chats
_MIN_LANE_GAP = 80  # between two lanes at the narrowest: a lane name's box
_TOP = 46           # below the lane names
_ROW = 22
_GAP_ROW = 14       # a pause in the traffic
_LINE = 16          # from a label's first line to its second (below the arrow)
_PAUSE = 1.0        # seconds without packets drawn as a pause
_CHAR = 7.0         # width of one character of the 12 px monospace labels

COLORS = {
    "in": "#1565c0", "out": "#2e7d32", "replay": "#e65100", "drop": "#c62828",
    "refused": "#6a1b9a", "lane": "#9e9e9e", "text": "#212121", "muted": "#757575",
}

STYLE = """
<style>
.chatlib-wire {font-family: ui-sans-serif, system-ui, sans-serif; font-size: 13px;
  line-height: 1.4}
.chatlib-wire svg text {font-size: 12px}
.chatlib-wire .pkt text.label {font-family: ui-monospace, SFMono-Regular, Menlo, monospace;
  paint-order: stroke; stroke: #fff; stroke-width: 3px}
.chatlib-wire .pkt:hover line, .chatlib-wire .pkt:hover path {stroke-width: 3.5}
.chatlib-wire .pkt:hover text.label {font-weight: bold}
.chatlib-wire .pkt {cursor: help}
.chatlib-wire .legend span {margin-right: 1.2em; white-space: nowrap}
</style>
"""


def lanes_of(rows: list[dict]) -> list[str]:
    """The clients in the order they first appear."""
    names: list[str] = []
    for row in rows:
        if row["client"] not in names:
            names.append(row["client"])
    return names


class _Lane:
    """Where a lane is: ``share`` of the picture's width plus ``shift`` px.

    The server's lane is at ``_SERVER_X`` (share 0); client ``i`` of ``n`` at
    share ``i / n``, shifted so that the last one is ``_RIGHT`` px from the edge.
    """

    def __init__(self, share: float, shift: float) -> None:
        self.share, self.shift = share, shift

    @classmethod
    def client(cls, i: int, count: int) -> _Lane:
        share = (i + 1) / count
        return cls(share, (1 - share) * _SERVER_X - share * _RIGHT)

    @property
    def x(self) -> str:
        """The lane's x inside :meth:`group` (a percentage of the picture's width)."""
        return f"{self.share * 100:.4f}%"

    def group(self, inner: str) -> str:
        """``inner`` shifted with the lane; inside it, the server's lane is at ``server_x``."""
        return f"<g transform='translate({self.shift:.2f} 0)'>{inner}</g>"

    @property
    def server_x(self) -> float:
        return _SERVER_X - self.shift


_SERVER_LANE = _Lane(0.0, _SERVER_X)


def min_width(lanes: int) -> int:
    """The narrowest the picture of ``lanes`` client lanes is drawn (px); it scrolls below."""
    return max(_MIN_WIDTH, _SERVER_X + _RIGHT + _MIN_LANE_GAP * max(1, lanes))


def _fit(text: str, width: float) -> str:
    room = max(6, int(width / _CHAR))
    return text if len(text) <= room else text[:room - 1] + "…"


def _two_lines(text: str, width: float) -> list[str]:
    """``text`` on one line, or on two split at its last " · " or double space that fits.

    What does not fit on the second line either is cut (…).
    """
    room = max(6, int(width / _CHAR))
    split = max(text.rfind(" · ", 0, room), text.rfind("  ", 0, room))
    if len(text) <= room or split <= 0:
        return [_fit(text, width)]
    return [text[:split], _fit(text[split:].lstrip(), width)]


def _label_text(row: dict, label: dict) -> str:
    """What a packet's label says: its encoded text, or for a DROP how it was noticed."""
    if row["type"] == "DROP":
        text = f"✕ {label['drop']} · {label['noticed']}: {row.get('reason') or '?'}"
        if row.get("silent_for") is not None:
            text += f" · {label['silent_for']} {seconds(row['silent_for'], label)}"
        return text
    text = ("↻ " if row["replay"] else "") + row["text"]
    if row.get("recovered"):
        text += f"  ({label['recovered']})"
    return text


def _color(row: dict) -> str:
    if row["type"] == "DROP":
        return COLORS["drop"]
    if row["type"] in ("CONNECT_ERROR", "DISCONNECT"):
        return COLORS["refused"]
    if row["replay"]:
        return COLORS["replay"]
    return COLORS[row["direction"]]


def describe(row: dict, label: dict) -> str:
    """A packet in words: its time, direction, type and details, then its whole encoded text."""
    arrow = f"{row['client']} → {label['server']}" if row["direction"] == "in" else \
        f"{label['server']} → {row['client']}"
    parts = [f"t = {number(row['t'], label, digits=3)} s", arrow, row["type"]]
    if row.get("offset") is not None:
        parts.append(f"{label['offset']} {row['offset']}")
    if row["replay"]:
        parts.append(label["replay"])
    if row.get("recovered") is not None:
        parts.append(f"{label['recovered']}: {label['yes'] if row['recovered'] else label['no']}")
    if row.get("reason"):
        parts.append(row["reason"])
    return " · ".join(parts) + ("\n" + row["text"] if row["text"] else "")


def _arrow_marker(name: str, color: str) -> str:
    return (f"<marker id='{name}' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='12' "
            f"markerHeight='12' markerUnits='userSpaceOnUse' orient='auto-start-reverse'>"
            f"<path d='M0,0 L10,5 L0,10 z' "
            f"fill='{color}'/></marker>")


def _silences(rows: list[dict], silent_since: dict) -> list[tuple[str, float, int | None]]:
    """(client, t it went silent, index of the DROP that ended it or None: still silent)."""
    found = [(row["client"], row["silent_since"], i) for i, row in enumerate(rows)
             if row["type"] == "DROP" and row.get("silent_since") is not None]
    return found + [(name, since, None) for name, since in silent_since.items()]


def draw(rows: list[dict], label: dict, uid: str, silent_since: dict | None = None) -> str:
    """The SVG for ``rows`` (WireView rows, oldest first), as wide as its container.

    ``silent_since`` maps a client name to the ``t`` at which it went silent
    and the server has not noticed yet (drawn as a red stretch to the end).
    A silence gets a line of its own where it starts, and the packets written
    to a silent client are drawn faded: it never took them in.
    ``uid`` keeps the arrow markers of two pictures on one page apart.
    Labels are cut (…) to what fits at the narrowest width; hover shows them whole.
    """
    silences = _silences(rows, silent_since or {})
    names = lanes_of(rows)
    names += [name for name, _, _ in silences if name not in names]
    lanes = {name: _Lane.client(i, len(names)) for i, name in enumerate(names)}
    narrowest = min_width(len(names))
    room = narrowest - _SERVER_X - 16  # a label's room, from the server's lane to the edge
    # a lane name's box (8 px a letter, 16 px of padding) stays inside its lane's share
    name_letters = max(3, int(((narrowest - _SERVER_X - _RIGHT) / max(1, len(names)) - 24) / 8))
    # lines: each row, and each silence's start before the first row at or after it
    lines = [(row["t"], 1, i, None) for i, row in enumerate(rows)]
    lines += [(since, 0, -1, k) for k, (_, since, _) in enumerate(silences)]
    lines.sort(key=lambda line: line[:3])
    row_y: dict[int, float] = {}
    silence_y: dict[int, float] = {}
    y, previous = _TOP, None
    # rather than cut how a DROP was noticed or a CONNECT's "recovered", a label takes a
    # second line (the row is one line taller)
    label_lines = {i: _two_lines(_label_text(row, label), room) for i, row in enumerate(rows)}
    for t, _, i, k in lines:
        if previous is not None and t - previous > _PAUSE:
            y += _GAP_ROW
        previous = t
        if k is None:
            row_y[i] = y
            y += _LINE * (len(label_lines[i]) - 1)
        else:
            silence_y[k] = y
        y += _ROW
    height = max(y, _TOP + _ROW) + 8

    # no viewBox: one unit is one pixel at any width, so the text is never scaled
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='100%' height='{height}' "
             f"style='display:block;min-width:{narrowest}px' role='img'>",
             "<defs>" + "".join(_arrow_marker(f"{uid}-{key}", color)
                                for key, color in COLORS.items()) + "</defs>"]
    # the time column's heading (the legend says: since the view started)
    parts.append(f"<text x='{_GUTTER - 8}' y='21' text-anchor='end' font-style='italic' "
                 f"fill='{COLORS['muted']}'>t</text>")
    # lanes
    for name, lane in [(label["server"], _SERVER_LANE), *list(lanes.items())]:
        shown = name if len(name) <= name_letters else name[:name_letters - 1] + "…"
        box = max(60, len(shown) * 8 + 16)
        parts.append(lane.group(
            f"<line x1='{lane.x}' y1='{_TOP - 14}' x2='{lane.x}' y2='{height - 4}' "
            f"stroke='{COLORS['lane']}' stroke-width='1.5'/>"
            f"<rect x='{lane.x}' y='4' width='{box}' height='24' rx='5' "
            f"transform='translate({-box / 2} 0)' fill='#f5f5f5' stroke='{COLORS['lane']}'/>"
            f"<text x='{lane.x}' y='21' text-anchor='middle' font-weight='bold' "
            f"fill='{COLORS['text']}'>{html.escape(shown)}</text>"))
    # silences: where a client stopped answering, until the server noticed
    unheard = set()
    for k, (name, since, drop) in enumerate(silences):
        lane, top = lanes[name], silence_y[k]
        bottom = row_y[drop] if drop is not None else height - 4
        parts.append(lane.group(_stretch(lane.x, top, bottom)))
        # on a line of its own, written like a packet's label: from the server's lane
        note = f"{name} {label['went_silent']}"
        parts.append(f"<text class='label' x='{_SERVER_X + 8}' y='{top + 4}' "
                     f"fill='{COLORS['drop']}' font-style='italic'>"
                     f"{html.escape(_fit(note, room))}</text>")
        end = rows[drop]["t"] if drop is not None else float("inf")
        unheard.update(i for i, row in enumerate(rows) if row["client"] == name
                       and row["direction"] == "out" and since <= row["t"] < end)
    # packets
    for i, row in enumerate(rows):
        y = row_y[i]
        parts.append(f"<text x='{_GUTTER - 8}' y='{y + 4}' text-anchor='end' "
                     f"fill='{COLORS['muted']}'>{elapsed(row['t'], label)}</text>")
        # one packet per line: its label may run past its client's lane, to the edge
        parts.append(_packet(row, y, lanes[row["client"]], label, uid, label_lines[i],
                             unheard=i in unheard))
    parts.append("</svg>")
    return "".join(parts)


def _stretch(x: str, top: float, bottom: float) -> str:
    return (f"<line x1='{x}' y1='{top}' x2='{x}' y2='{bottom}' stroke='{COLORS['drop']}' "
            f"stroke-width='5' stroke-dasharray='2 4' opacity='0.7'/>")


def _packet(row: dict, y: float, lane: _Lane, label: dict, uid: str, lines: list[str],
            unheard: bool = False) -> str:
    """One packet's arrow, and its label: ``lines``, the first above the arrow, a second below."""
    color = _color(row)
    tip_text = describe(row, label) + (f"\n{label['unheard']}" if unheard else "")
    tip = f"<title>{html.escape(tip_text)}</title>"
    # the hover area: the label's lines, from the server's lane to the edge
    area = (f"<rect x='{_SERVER_X}' y='{y - 11}' width='100%' "
            f"height='{14 + _LINE * (len(lines) - 1)}' fill='transparent'/>")
    text = (f"<text class='label' fill='{color}'>"
            + "".join(f"<tspan x='{_SERVER_X + 8}' y='{y - 4 + _LINE * n}'>{html.escape(line)}"
                      f"</tspan>" for n, line in enumerate(lines)) + "</text>")
    if row["type"] == "DROP":
        return (f"<g class='pkt'>{tip}{area}" + lane.group(
                f"<line x1='{lane.x}' y1='{y}' x2='{lane.server_x}' y2='{y}' "
                f"stroke='{color}' stroke-width='1.5' stroke-dasharray='3 3'/>"
                f"<text x='{lane.x}' y='{y + 5}' text-anchor='middle' font-size='16' "
                f"font-weight='bold' fill='{color}'>✕</text>") + f"{text}</g>")
    ends = (lane.x, lane.server_x) if row["direction"] == "in" else (lane.server_x, lane.x)
    marker = next(key for key, value in COLORS.items() if value == color)
    dash = " stroke-dasharray='7 4'" if row["replay"] else ""
    faded = " opacity='0.4'" if unheard else ""
    return (f"<g class='pkt'{faded}>{tip}{area}" + lane.group(
            f"<line x1='{ends[0]}' y1='{y}' x2='{ends[1]}' y2='{y}' "
            f"stroke='{color}' stroke-width='2'{dash} marker-end='url(#{uid}-{marker})'/>")
            + f"{text}</g>")
