"""The words the widgets show, in English and Spanish; any of them can be replaced."""

from __future__ import annotations

from typing import Mapping, Union

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "send": "Send", "disconnect": "Disconnect", "connect": "Connect",
        "placeholder": "Type a message",
        "connected": "connected", "disconnected": "disconnected", "connecting": "connecting…",
        "recovered": "recovered", "yes": "yes", "no": "no",
        "sid": "sid", "last_offset": "last offset", "pending": "waiting to be sent",
        "server_offset": "serverOffset",
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
        "ping": ("ping every {interval:g} s, timeout {timeout:g} s: a silent client is noticed within "
            "{total:g} s"),
        "replay": "replay", "live": "live", "drop": "connection lost",
        "noticed": "server notices", "silent_for": "silent for", "no_packets": "no packets yet",
        "legend_in": "client → server", "legend_out": "server → client",
        "legend_replay": "↻ replayed by a restore", "legend_drop": "✕ connection lost",
        "earlier": "{count} earlier packets (all in view.rows)",
        "would_get": "a restore now would send", "last_seen": "last offset",
        "went_silent": "goes silent: answers nothing, closes nothing",
        "unheard": "written to a silent client: never taken in (the restore sends it again)",
        "name": "name",
        "to_restore": "restore now sends",
        "stopped_note": "server stopped: this is its last state",
    },
    "es": {
        "send": "Enviar", "disconnect": "Desconectar", "connect": "Conectar",
        "placeholder": "Escribe un mensaje",
        "connected": "conectado", "disconnected": "desconectado", "connecting": "conectando…",
        "recovered": "recuperado", "yes": "sí", "no": "no",
        "sid": "sid", "last_offset": "último offset", "pending": "pendiente de envío",
        "server_offset": "serverOffset",
        "error": "error", "server_stopped": "servidor detenido",
        "mode_drop": "Desconectar = corte de red: el servidor guarda la sesión",
        "mode_clean": "Desconectar = socket.disconnect(): la sesión no se guarda",
        "packets": "paquetes guardados", "sessions": "sesiones",
        "offset": "offset", "age": "edad", "event": "evento", "arguments": "argumentos",
        "targets": "destinatarios", "everyone": "todos", "except": "excepto",
        "rooms": "salas", "state": "estado", "kept": "guardada",
        "disconnected_for": "desconectada hace", "expires_in": "caduca en",
        "none": "ninguno",
        "mode_silent": ("Desconectar = Wi-Fi perdido: no se cierra nada, el servidor lo nota en su ping "
            "timeout"),
        "silent": "desconectado (el servidor aún no lo ha notado)",
        "room": "sala", "replayed": "reenviado por la restauración",
        "server": "servidor", "wire_title": "Lo que pasa por la red",
        "ping": ("ping cada {interval:g} s, timeout {timeout:g} s: un cliente mudo se nota en {total:g} s "
            "como mucho"),
        "replay": "reenvío", "live": "en vivo", "drop": "conexión perdida",
        "noticed": "el servidor lo nota", "silent_for": "mudo durante", "no_packets": "aún no hay paquetes",
        "legend_in": "cliente → servidor", "legend_out": "servidor → cliente",
        "legend_replay": "↻ reenviado por una restauración", "legend_drop": "✕ conexión perdida",
        "earlier": "{count} paquetes anteriores (todos en view.rows)",
        "would_get": "una restauración ahora enviaría", "last_seen": "último offset",
        "went_silent": "enmudece: no responde, no cierra nada",
        "unheard": "escrito a un cliente mudo: nunca lo recibió (la restauración lo reenvía)",
        "name": "nombre",
        "to_restore": "una restauración envía",
        "stopped_note": "servidor detenido: este es su último estado",
    },
}

Labels = Union[str, Mapping[str, str]]


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
    resolved = resolve_labels(replacements.pop("language", "en"))
    unknown = set(replacements) - set(resolved)
    if unknown:
        raise ValueError(f"unknown label keys: {', '.join(sorted(unknown))}")
    resolved.update(replacements)
    return resolved
