"""The words the widgets show, in English and Spanish; any of them can be replaced."""

from __future__ import annotations

from collections.abc import Mapping

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "send": "Send", "disconnect": "Disconnect", "connect": "Connect",
        "placeholder": "Type a message",
        "connected": "connected", "disconnected": "disconnected", "connecting": "connecting…",
        "recovered": "recovered", "yes": "yes", "no": "no",
        "sid": "sid", "last_offset": "recovery offset", "pending": "waiting to be sent",
        "server_offset": "serverOffset (message id)",
        "error": "error", "server_stopped": "server stopped",
        "mode_drop": "Disconnect = network drop: the server keeps the session",
        "mode_clean": "Disconnect = socket.disconnect(): the session is not kept",
        "packets": "stored packets", "sessions": "sessions",
        "offset": "offset", "age": "age", "event": "event", "arguments": "arguments",
        "targets": "targets", "everyone": "everyone", "except": "except",
        "rooms": "rooms", "state": "state", "kept": "kept",
        "disconnected_for": "disconnected for", "expires_in": "expires in",
        "none": "none",
        "mode_silent": "Disconnect = Wi-Fi lost: nothing is closed, the server notices at its ping timeout",
        "silent": "disconnected (the server has not noticed yet)",
        "room": "room", "replayed": "replayed by the restore",
        "server": "server", "wire_title": "What goes over the wire",
        "ping": ("ping every {interval} s, timeout {timeout} s: a silent client is noticed within "
            "{total} s"),
        "replay": "replay", "live": "live", "drop": "connection lost",
        "noticed": "server notices", "silent_for": "silent for", "no_packets": "no packets yet",
        "legend_in": "client → server", "legend_out": "server → client",
        "legend_replay": "↻ replayed by a restore", "legend_drop": "✕ connection lost",
        "legend_time": "t: time since this view started",
        "inspect": "Packet in full",
        "earlier": "{count} earlier packets (all in view.rows)",
        "would_get": "a restore now would send", "last_seen": "last offset",
        "went_silent": "goes silent: answers nothing, closes nothing",
        "unheard": "written to a silent client: never taken in (the restore sends it again)",
        "name": "name",
        "to_restore": "restore now sends",
        "stopped_note": "server stopped: this is its last state",
        "session_connected": "connected", "decimal_mark": ".",
    },
    "es": {
        "send": "Enviar", "disconnect": "Desconectar", "connect": "Conectar",
        "placeholder": "Escribe un mensaje",
        "connected": "conectado", "disconnected": "desconectado", "connecting": "conectando…",
        "recovered": "recuperado", "yes": "sí", "no": "no",
        "sid": "sid", "last_offset": "offset de recuperación", "pending": "pendiente de envío",
        "server_offset": "serverOffset (id de mensaje)",
        "error": "error", "server_stopped": "servidor detenido",
        "mode_drop": "Desconectar = corte de red: el servidor guarda la sesión",
        "mode_clean": "Desconectar = socket.disconnect(): la sesión no se guarda",
        "packets": "paquetes guardados", "sessions": "sesiones",
        "offset": "offset", "age": "antigüedad", "event": "evento", "arguments": "argumentos",
        "targets": "destinatarios", "everyone": "todos", "except": "excepto",
        "rooms": "salas", "state": "estado", "kept": "guardada",
        "disconnected_for": "sin conexión", "expires_in": "caduca en",
        "none": "ninguno",
        "mode_silent": ("Desconectar = Wi-Fi perdido: no se cierra nada, el servidor lo nota cuando "
            "vence la espera de su ping"),
        "silent": "desconectado (el servidor aún no lo ha notado)",
        "room": "sala", "replayed": "reenviado por la restauración",
        "server": "servidor", "wire_title": "Lo que pasa por la red",
        "ping": ("ping cada {interval} s, espera de respuesta {timeout} s: un cliente que deja de "
            "responder se nota en {total} s como mucho"),
        "replay": "reenvío", "live": "en vivo", "drop": "conexión perdida",
        "noticed": "el servidor lo nota", "silent_for": "sin responder durante",
        "no_packets": "aún no hay paquetes",
        "legend_in": "cliente → servidor", "legend_out": "servidor → cliente",
        "legend_replay": "↻ reenviado por una restauración", "legend_drop": "✕ conexión perdida",
        "legend_time": "t: tiempo desde que se creó esta vista",
        "inspect": "Paquete completo",
        "earlier": "{count} paquetes anteriores (todos en view.rows)",
        "would_get": "una restauración ahora enviaría", "last_seen": "último offset",
        "went_silent": "deja de responder: no contesta, no cierra nada",
        "unheard": "escrito a un cliente que no responde: nunca lo recibió (la restauración lo reenvía)",
        "name": "nombre",
        "to_restore": "una restauración envía",
        "stopped_note": "servidor detenido: este es su último estado",
        "session_connected": "conectada", "decimal_mark": ",",
    },
}

Labels = str | Mapping[str, str]


def language_of(labels: Labels) -> str:
    """The language code of ``labels``: the code itself, or a dict's ``"language"`` (English
    when it names none).

    Example::

        >>> language_of("es"), language_of({"language": "es", "send": "¡Envía!"}), language_of({})
        ('es', 'es', 'en')
    """
    return labels if isinstance(labels, str) else str(dict(labels).get("language", "en"))


def number(value: float, label: Mapping[str, str], digits: int | None = None) -> str:
    """A number as the labels' language writes it: ``3.5`` in English, ``3,5`` in Spanish.

    ``digits`` fixes the decimals; without it the shortest form is used.

    Example::

        >>> number(2.5, resolve_labels("es")), number(3, resolve_labels("en"), digits=1)
        ('2,5', '3.0')
    """
    text = f"{value:g}" if digits is None else f"{value:.{digits}f}"
    return text.replace(".", label["decimal_mark"])


def seconds(value: float | None, label: Mapping[str, str]) -> str:
    """Seconds with one decimal, ``"3,2 s"`` in Spanish; ``"–"`` for no value."""
    return "–" if value is None else number(value, label, digits=1) + " s"


def elapsed(value: float, label: Mapping[str, str]) -> str:
    """A time since a start: milliseconds below a second, else seconds with one decimal.

    A scripted run sends its packets milliseconds apart; ``"0.0 s"`` on each would hide
    their order.

    Example::

        >>> elapsed(0.0173, resolve_labels("en")), elapsed(2.25, resolve_labels("es"))
        ('17 ms', '2,2 s')
    """
    milliseconds = round(value * 1000)
    return f"{milliseconds} ms" if milliseconds < 1000 else seconds(value, label)


def resolve_labels(labels: Labels = "en") -> dict[str, str]:
    """A full set of labels from a language code, or from a dict of replacements.

    A dict replaces some English labels; it may name its base language with
    the key ``"language"``.

    Example::

        >>> resolve_labels({"language": "es", "send": "¡Envía!"})["send"]
        '¡Envía!'
        >>> resolve_labels("es")["disconnect"]
        'Desconectar'
    """
    if isinstance(labels, str):
        if labels not in LABELS:
            raise ValueError(f"no labels for {labels!r}; known: {', '.join(LABELS)}")
        return dict(LABELS[labels])
    replacements = dict(labels)
    resolved = resolve_labels(language_of(replacements))
    replacements.pop("language", None)
    unknown = set(replacements) - set(resolved)
    if unknown:
        raise ValueError(f"unknown label keys: {', '.join(sorted(unknown))}")
    resolved.update(replacements)
    return resolved
