"""The WireView's picture: a sequence diagram of packets, drawn as inline SVG.

One vertical lane for the server and one per client; time runs down the
page, one packet per line. A packet is an arrow between the server's lane
and its client's, labelled with its encoded text; hovering it shows the
whole text and the details (SVG ``<title>``). Replayed packets are orange
and dashed, marked ↻; a lost connection is a red ✕ on the client's lane,
with a red stretch from the moment the client went silent to the moment
the server noticed. Everything is drawn here, no script and no CDN.
"""

from __future__ import annotations

import html
from typing import Optional

from .labels import seconds

_GUTTER = 64        # room for the time labels, left of the server's lane
_SERVER_X = 110
_LANE_GAP = 300     # between two lanes: room for a packet's label
_TOP = 46           # below the lane names
_ROW = 22
_GAP_ROW = 14       # a pause in the traffic
_PAUSE = 1.0        # seconds without packets drawn as a pause
_CHAR = 7.0         # width of one character of the 12 px monospace labels

COLORS = {
    "in": "#1565c0", "out": "#2e7d32", "replay": "#e65100", "drop": "#c62828",
    "refused": "#6a1b9a", "lane": "#9e9e9e", "text": "#212121", "muted": "#757575",
}

STYLE = """
<style>
.chatlib-wire {font-family: ui-sans-serif, system-ui, sans-serif; font-size: 13px}
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


def _fit(text: str, width: float) -> str:
    room = max(6, int(width / _CHAR))
    return text if len(text) <= room else text[:room - 1] + "…"


def _color(row: dict) -> str:
    if row["type"] == "DROP":
        return COLORS["drop"]
    if row["type"] in ("CONNECT_ERROR", "DISCONNECT"):
        return COLORS["refused"]
    if row["replay"]:
        return COLORS["replay"]
    return COLORS[row["direction"]]


def _tooltip(row: dict, label: dict) -> str:
    arrow = f"{row['client']} → {label['server']}" if row["direction"] == "in" else \
        f"{label['server']} → {row['client']}"
    parts = [f"t = {row['t']:.2f} s", arrow, row["type"]]
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


def _silences(rows: list[dict], silent_since: dict) -> list[tuple[str, float, Optional[int]]]:
    """(client, t it went silent, index of the DROP that ended it or None: still silent)."""
    found = [(row["client"], row["silent_since"], i) for i, row in enumerate(rows)
             if row["type"] == "DROP" and row.get("silent_since") is not None]
    return found + [(name, since, None) for name, since in silent_since.items()]


def draw(rows: list[dict], label: dict, uid: str, silent_since: Optional[dict] = None) -> str:
    """The SVG for ``rows`` (WireView rows, oldest first).

    ``silent_since`` maps a client name to the ``t`` at which it went silent
    and the server has not noticed yet (drawn as a red stretch to the end).
    A silence gets a line of its own where it starts, and the packets written
    to a silent client are drawn faded: it never took them in.
    ``uid`` keeps the arrow markers of two pictures on one page apart.
    """
    silences = _silences(rows, silent_since or {})
    names = lanes_of(rows)
    names += [name for name, _, _ in silences if name not in names]
    lane_x = {name: _SERVER_X + _LANE_GAP * (i + 1) for i, name in enumerate(names)}
    width = _SERVER_X + _LANE_GAP * max(1, len(names)) + 110
    # lines: each row, and each silence's start before the first row at or after it
    lines = [(row["t"], 1, i, None) for i, row in enumerate(rows)]
    lines += [(since, 0, -1, k) for k, (_, since, _) in enumerate(silences)]
    lines.sort(key=lambda line: line[:3])
    row_y: dict[int, float] = {}
    silence_y: dict[int, float] = {}
    y, previous = _TOP, None
    for t, _, i, k in lines:
        if previous is not None and t - previous > _PAUSE:
            y += _GAP_ROW
        previous = t
        if k is None:
            row_y[i] = y
        else:
            silence_y[k] = y
        y += _ROW
    height = max(y, _TOP + _ROW) + 8

    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
             f"viewBox='0 0 {width} {height}' style='max-width:100%;height:auto' role='img'>",
             "<defs>" + "".join(_arrow_marker(f"{uid}-{key}", color)
                                for key, color in COLORS.items()) + "</defs>"]
    # lanes
    for name, x in [(label["server"], _SERVER_X)] + list(lane_x.items()):
        parts.append(f"<line x1='{x}' y1='{_TOP - 14}' x2='{x}' y2='{height - 4}' "
                     f"stroke='{COLORS['lane']}' stroke-width='1.5'/>")
        box = max(60, len(name) * 8 + 16)
        parts.append(f"<rect x='{x - box / 2}' y='4' width='{box}' height='24' rx='5' "
                     f"fill='#f5f5f5' stroke='{COLORS['lane']}'/>"
                     f"<text x='{x}' y='21' text-anchor='middle' font-weight='bold' "
                     f"fill='{COLORS['text']}'>{html.escape(_fit(name, _LANE_GAP - 20))}</text>")
    # silences: where a client stopped answering, until the server noticed
    unheard = set()
    for k, (name, since, drop) in enumerate(silences):
        x, top = lane_x[name], silence_y[k]
        bottom = row_y[drop] if drop is not None else height - 4
        parts.append(_stretch(x, top, bottom))
        # left of the lane: the line is the silence's own, and the last lane has no room right
        parts.append(f"<text x='{x - 10}' y='{top + 4}' text-anchor='end' "
                     f"fill='{COLORS['drop']}' font-style='italic'>"
                     f"{html.escape(name)} {html.escape(label['went_silent'])}</text>")
        end = rows[drop]["t"] if drop is not None else float("inf")
        unheard.update(i for i, row in enumerate(rows) if row["client"] == name
                       and row["direction"] == "out" and since <= row["t"] < end)
    # packets
    for i, row in enumerate(rows):
        y = row_y[i]
        parts.append(f"<text x='{_GUTTER - 8}' y='{y + 4}' text-anchor='end' "
                     f"fill='{COLORS['muted']}'>{seconds(row['t'], label)}</text>")
        # one packet per line: its label may run past its client's lane, to the edge
        parts.append(_packet(row, y, lane_x[row["client"]], label, uid,
                             width - _SERVER_X - 16, unheard=i in unheard))
    parts.append("</svg>")
    return "".join(parts)


def _stretch(x: float, top: float, bottom: float) -> str:
    return (f"<line x1='{x}' y1='{top}' x2='{x}' y2='{bottom}' stroke='{COLORS['drop']}' "
            f"stroke-width='5' stroke-dasharray='2 4' opacity='0.7'/>")


def _packet(row: dict, y: float, client_x: float, label: dict, uid: str, room: float,
            unheard: bool = False) -> str:
    color = _color(row)
    tip_text = _tooltip(row, label) + (f"\n{label['unheard']}" if unheard else "")
    tip = f"<title>{html.escape(tip_text)}</title>"
    if row["type"] == "DROP":
        text = f"✕ {label['drop']} · {label['noticed']}: {row.get('reason') or '?'}"
        if row.get("silent_for") is not None:
            text += f" · {label['silent_for']} {seconds(row['silent_for'], label)}"
        return (f"<g class='pkt'>{tip}<line x1='{client_x}' y1='{y}' x2='{_SERVER_X}' y2='{y}' "
                f"stroke='{color}' stroke-width='1.5' stroke-dasharray='3 3'/>"
                f"<text x='{client_x}' y='{y + 5}' text-anchor='middle' font-size='16' "
                f"font-weight='bold' fill='{color}'>✕</text>"
                f"<text class='label' x='{_SERVER_X + 8}' y='{y - 4}' fill='{color}'>"
                f"{html.escape(_fit(text, room))}</text></g>")
    start, end = (client_x, _SERVER_X) if row["direction"] == "in" else (_SERVER_X, client_x)
    marker = next(key for key, value in COLORS.items() if value == color)
    dash = " stroke-dasharray='7 4'" if row["replay"] else ""
    text = ("↻ " if row["replay"] else "") + row["text"]
    if row.get("recovered"):
        text += f"  ({label['recovered']})"
    faded = " opacity='0.4'" if unheard else ""
    return (f"<g class='pkt'{faded}>{tip}<line x1='{start}' y1='{y}' x2='{end}' y2='{y}' "
            f"stroke='{color}' stroke-width='2'{dash} marker-end='url(#{uid}-{marker})'/>"
            f"<rect x='{_SERVER_X}' y='{y - 11}' width='{room}' height='14' fill='transparent'/>"
            f"<text class='label' x='{_SERVER_X + 8}' y='{y - 4}' fill='{color}'>"
            f"{html.escape(_fit(text, room))}</text></g>")
