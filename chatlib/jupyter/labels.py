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
        "error": "error", "server_stopped": "server stopped",
        "mode_drop": "Disconnect = network drop: the server keeps the session",
        "mode_clean": "Disconnect = socket.disconnect(): the session is not kept",
        "packets": "stored packets", "sessions": "sessions",
        "offset": "offset", "age": "age", "event": "event", "arguments": "arguments",
        "targets": "targets", "everyone": "everyone", "except": "except",
        "rooms": "rooms", "state": "state", "kept": "kept",
        "disconnected_for": "disconnected for", "expires_in": "expires in",
        "none": "none",
    },
    "es": {
        "send": "Enviar", "disconnect": "Desconectar", "connect": "Conectar",
        "placeholder": "Escribe un mensaje",
        "connected": "conectado", "disconnected": "desconectado", "connecting": "conectando…",
        "recovered": "recuperado", "yes": "sí", "no": "no",
        "sid": "sid", "last_offset": "último offset", "pending": "pendiente de envío",
        "error": "error", "server_stopped": "servidor detenido",
        "mode_drop": "Desconectar = corte de red: el servidor guarda la sesión",
        "mode_clean": "Desconectar = socket.disconnect(): la sesión no se guarda",
        "packets": "paquetes guardados", "sessions": "sesiones",
        "offset": "offset", "age": "edad", "event": "evento", "arguments": "argumentos",
        "targets": "destinatarios", "everyone": "todos", "except": "excepto",
        "rooms": "salas", "state": "estado", "kept": "guardada",
        "disconnected_for": "desconectada hace", "expires_in": "caduca en",
        "none": "ninguno",
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
