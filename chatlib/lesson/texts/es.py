"""The lesson's texts in Spanish: one section per step, exercise or piece.

Every catalog has the same sections and keys, with the same ``{placeholders}``
(tests/lesson/test_texts.py); ``chatlib.lesson.texts.texts(section, labels)`` picks one.
"""

from typing import Any

CATALOG: dict[str, dict[str, Any]] = {
    "cleanup": {
        "button": "Detener todos los servidores",
        "before": ("Haz clic cuando termines: se detienen todos los servidores de chat de este "
                   "cuaderno, y sus widgets lo dicen."),
        "after": "Detenidos. Tareas de servidor que quedan: {left}.",
    },
    "exercise": {
        "correct": "Correcto",
        "not_yet": "Todavía no",
        "hint": "Pista",
        "solution": "Solución",
        "more": "una pista: {name}.hint(); la solución: {name}.solution()",
        "no_more": "era la última pista; la solución: {name}.solution()",
        "arguments": "La comprobación recibe otros argumentos: {usage}.",
        "coroutine": ("Eso es una corrutina, una función async llamada sin await: pasa la función "
                      "misma, o espérala antes con await."),
        "raised": "Al comprobar esta respuesta se lanzó {error}.",
    },
    "step6_offsets": {
        "title": "Ejercicio 1: predice los offsets",
        "hints": [
            ("El servidor numera cada evento que guarda, uno tras otro, para todo el servidor (no "
             "por cliente): mira los offsets de los paquetes guardados."),
            ("Alice ha recibido todos los eventos hasta su offset de recuperación (en su línea de "
             "estado); recibe exactamente los que vienen después, y Bob va a enviar tres."),
        ],
        "solution": "respuesta = ['3', '4', '5']",
        "explanation": ("Los dos primeros mensajes de Bob se guardaron con los offsets 1 y 2, y "
                        "Alice recibió los dos (su offset de recuperación es 2). Los tres siguientes se "
                        "guardan con 3, 4 y 5 mientras ella no está: su reconexión presenta el "
                        "offset 2 y el servidor reenvía 3, 4 y 5."),
        "none": "Eso no es ningún offset: Bob envía tres mensajes mientras Alice no está.",
        "count": "Bob envía tres mensajes y cada uno se guarda: son tres offsets.",
        "wrong": "Esos no son los offsets que usará el servidor.",
        "right": ("Bob envió tres mensajes y Alice se reconectó: la red muestra ↻ {offsets} en su "
                  "línea; se le reenvió exactamente lo que se perdió."),
        "messages": ["primero", "segundo", "tres", "mensajes", "más"],
        "not_list": "Da los offsets como una lista de textos, p. ej. [\"1\", \"2\"].",
    },
    "step6_rooms": {
        "title": "Ejercicio 2: qué vuelve a una sala",
        "hints": [
            ("Un mensaje va solo a la sala de quien lo envía, y el servidor guardó las salas de "
             "Alice mientras no estaba: sigue en #general."),
            "Carol está en #random, donde Alice no está.",
        ],
        "solution": "respuesta = ['¿comemos a las doce?', 'reservo mesa']",
        "explanation": ("Alice se desconectó de #general, y su sesión guardada sigue incluyendo "
                        "#general. Los dos mensajes de Bob fueron a #general y se guardaron para esa "
                        "sala; el de Carol fue a #random. Una restauración envía a Alice lo enviado "
                        "a sus salas (o a todos) después de su offset de recuperación: los dos de Bob, en "
                        "orden."),
        "none": "Se enviaron mensajes a la sala de Alice mientras no estaba.",
        "extra": "Alice no recibiría todos esos.",
        "missing": "Alice recibiría más que eso.",
        "right": ("Alice se reconectó, todavía en #general sin volver a unirse: la red muestra ↻ "
                  "{offsets} en su línea, y nada de #random."),
        "bob": ["¿comemos a las doce?", "reservo mesa"],
        "carol": "¿quién se llevó mi grapadora?",
        "not_list": "Da los textos de los mensajes como una lista, p. ej. [\"hola\"].",
    },
    "step6_countdown": {
        "title": "Ejercicio 3: gánale a la cuenta atrás",
        "hints": [
            ("Haz clic en Desconectar de Alice, envía algo desde Bob y mira «caduca en» para Alice "
             "en la tabla de sesiones; haz clic en Conectar antes de que llegue a 0 y ejecuta la "
             "comprobación."),
            ("Para el segundo intento, haz clic en Desconectar y espera a que la sesión de Alice "
             "desaparezca de la tabla de sesiones (más de 10 s); luego haz clic en Conectar y "
             "ejecuta la comprobación."),
        ],
        "solution": ("# 1. Desconectar, Bob envía, Conectar antes de 10 s  -> recovered: True\n# 2. "
                     "Desconectar, esperar 11 s o más, Conectar       -> recovered: False\nawait "
                     "ej3.check()   # después de cada intento"),
        "explanation": ("El servidor guarda una sesión desconectada, y los paquetes, durante "
                        "max_disconnection_duration (aquí 10 s; 2 minutos por defecto). Si vuelve a "
                        "tiempo, Alice se recupera; si tarda más, la sesión ya no existe y empieza "
                        "una nueva, con otro id y sin nada reenviado."),
        "not_left": "Alice todavía no se ha ido.",
        "still_away": "Alice lleva {away} fuera: haz clic en Conectar.",
        "in_time": ("Volvió tras {away}: recuperada. Ahora la otra mitad: quédate fuera más de "
                    "{limit} s."),
        "too_late": ("Volvió tras {away}: no recuperada (otro id). Ahora la otra mitad: vuelve antes "
                     "de {limit} s."),
        "both": ("Volviste a tiempo ({fast}: recuperada) y tarde ({slow}: una sesión nueva). El "
                 "límite es max_disconnection_duration."),
    },
    "step6_resync": {
        "title": "Ejercicio 4: sincroniza solo cuando haga falta",
        "hints": [
            ("client.recovered es True cuando la sesión volvió con sus eventos perdidos; entonces no "
             "hay nada que pedir."),
            "if not client.recovered: resynchronise()",
        ],
        "solution": ("def on_connect(client, resynchronise):\n    if not client.recovered:\n        "
                     "resynchronise()"),
        "explanation": ("Tras una reconexión recuperada el servidor ya envió lo perdido; tras una "
                        "sesión nueva no, así que solo entonces la aplicación pide el estado por su "
                        "cuenta."),
        "not_function": "Pasa tu función: await {name}.check(on_connect).",
        "ran": "{who} se reconectó (recovered: {recovered}); tu manejador {did}.",
        "did": "sincronizó",
        "did_not": "no sincronizó",
        "missed_new": "La sesión nueva de Eve necesita una sincronización, y tu manejador no la pidió.",
        "extra": "Dana se recuperó: ya tiene lo que se perdió, así que sincronizarla es trabajo de más.",
        "right": ("Dana se recuperó y no necesitó nada; Eve tuvo una sesión nueva y tu manejador la "
                  "sincronizó."),
        "while_away": "enviado mientras no estaban",
        "raised": "Tu on_connect lanzó {error} cuando {who} se reconectó.",
        "too_slow": "Tu on_connect seguía en marcha {seconds} s después de que {who} se reconectara.",
        "hello": "hola",
    },
    "step7": {
        "said": "{name}: recovered {recovered} | puesta al día: {what}",
        "not_needed": "no hizo falta",
        "ids": "ids {ids}",
        "nothing": "nada",
        "title": "Ejercicio 1: lo que envía la puesta al día",
        "hints": [
            ("El serverOffset de Alice (en su línea de estado) es el id del último mensaje que "
             "recibió; la consulta pide todos los ids mayores."),
            ("Cada mensaje guardado toma el id siguiente: los dos primeros de Bob son 1 y 2, y envió "
             "tres más mientras Alice no estaba."),
        ],
        "solution": "respuesta = [3, 4, 5]",
        "explanation": ("Alice recibió los ids 1 y 2, así que se conecta con serverOffset 2. Su "
                        "sesión no se guardó (una desconexión limpia), así que el manejador de "
                        "conexión ejecuta la consulta `id > 2` y envía 3, 4 y 5, cada uno con su id."),
        "not_ids": "Da los ids como una lista de números, p. ej. [1, 2].",
        "wrong": "La puesta al día enviaría otros ids.",
        "right": ("Alice volvió con serverOffset {offset}, sin recuperar; la puesta al día envió los "
                  "ids {ids}: {texts}."),
        "messages": ["uno", "dos", "tres", "cuatro", "cinco"],
    },
    "step8": {
        "title": "Ejercicio 1: exactamente una vez",
        "hints": [
            ("Un mensaje perdido solo vuelve si el cliente lo envía de nuevo: hace falta retries, y "
             "un ack_timeout menor que la espera (1 s aquí)."),
            ("El reintento de un mensaje cuyo ack solo llegó tarde es una segunda copia: el servidor "
             "solo puede rechazarla si la reconoce, por su offset de cliente."),
        ],
        "solution": "respuesta = {\"retries\": 3, \"ack_timeout\": 0.5, \"client_offset\": True}",
        "explanation": ("retries con un ack_timeout menor que 1 s vuelve a enviar el mensaje perdido "
                        "(al menos una vez); el offset de cliente permite que la restricción UNIQUE "
                        "rechace la copia del que se confirmó tarde, y el servidor la confirma igualmente "
                        "(exactamente una vez)."),
        "not_options": "Da las opciones de ChatWidget como un dict, p. ej. {\"retries\": 1}.",
        "unknown": "Este ejercicio no admite la opción {keys}; las claves son {allowed}.",
        "bad_retries": "retries es un número entero de 0 a 10, no {value}.",
        "bad_timeout": ("ack_timeout es un número de segundos mayor que 0 (10 como mucho), o None, "
                        "no {value}."),
        "bad_offset": "client_offset es True o False, no {value}.",
        "messages": ["primero", "segundo"],
        "stored": "Filas guardadas: «primero» {first}, «segundo» {second}.",
        "lost": "«primero» se perdió por el camino y nadie lo volvió a enviar.",
        "twice": ("«segundo» se guardó dos veces: para el servidor, el reintento tras un ack "
                  "tardío es un mensaje nuevo."),
        "right": ("Cada mensaje se guardó una vez: «primero» se volvió a enviar tras perderse, y la "
                  "copia de «segundo» se rechazó (UNIQUE) y aun así se confirmó."),
    },
    "step9": {
        "title": "Ejercicio 1: llega un tercer servidor",
        "hints": [
            ("Los mensajes pasan de un servidor a otro por el gestor de clientes (client manager): "
             "todos deben publicar en el mismo Redis y escucharlo."),
            ("Recuperar en otro servidor necesita las sesiones y los paquetes donde todos los "
             "servidores los encuentren: el almacén de recuperación también debe estar en ese Redis."),
        ],
        "solution": ("def opciones(url):\n    return {\"store\": chatlib.RedisStore(url),\n          "
                     "  \"client_manager\": socketio.AsyncRedisManager(url)}"),
        "explanation": ("AsyncRedisManager lleva cada emit a los demás servidores; RedisStore guarda "
                        "las sesiones y los paquetes en el mismo Redis, así que north puede devolver "
                        "a Kim la sesión que east le guardó."),
        "not_function": ("Da una función: opciones(url) devuelve las opciones del servidor como un "
                         "dict."),
        "crossed": "El mensaje de Jon en west llegó a Kim en north: {crossed}.",
        "recovered": "Kim perdió la conexión con east y volvió en north: recovered {recovered}.",
        "right": ("Los mensajes cruzan, y north restauró la sesión de Kim con lo que se perdió, sin "
                  "puesta al día."),
        "raised": "Tu función opciones(url) lanzó {error}.",
        "not_dict": "opciones(url) debe devolver un dict de opciones de start_chat_server, no un {got}.",
        "step": "north sirve el chat del paso 7, como east y west: omite step, o step=7.",
        "refused": "start_chat_server rechazó estas opciones: {error}.",
        "while_away": "mientras Kim no estaba",
        "hello_north": "hola, north",
    },
    "story": {
        "quoted": "«{text}»",
        "nothing": "nada",
        "and": " y ",
        "typing_for_you": ("Todavía no: {sender} no ha enviado nada. Escribo «{text}» en la caja de "
                           "{sender} y hago clic en Enviar por ti."),
        "you_sent": "✓ Enviaste «{text}» desde {sender}.",
        "stored": ("El servidor guardó «{text}» con el offset {offset} y lo envió a todos los "
                   "conectados; lo recibieron {names}."),
        "last_offsets": "Offsets de recuperación (el último que recibió cada cliente): {offsets}.",
        "still_connected": "Todavía no: {name} sigue conectada. Hago clic por ti en Desconectar de {name}.",
        "you_disconnected": "✓ Hiciste clic en Desconectar de {name}.",
        "kept": ("{name} está desconectada y el servidor guarda su sesión: server.is_kept(sid) es "
                 "{kept}."),
        "on_the_wire": "En la red, la línea de {name} acaba en «{drop}».",
        "nothing_missed": ("Todavía no: nadie ha enviado nada desde que {name} se fue. Escribo "
                           "«{text}» en la caja de {sender} y hago clic en Enviar por ti."),
        "missed": ("Guardado para {name}, que no está: {rows}. Es lo que una restauración le "
                   "enviaría ahora."),
        "in_buffer": "La vista del búfer lo marca ↻ {name}.",
        "got_nothing": "{name} no ha recibido nada de eso.",
        "still_away": "Todavía no: {name} sigue desconectada. Hago clic por ti en Conectar de {name}.",
        "you_connected": "✓ Hiciste clic en Conectar de {name}.",
        "back": "{name} ha vuelto. recovered: {recovered}; el mismo id que antes: {same}.",
        "replayed": "Reenviado a {name} (↻ en el widget y en la red): {texts}.",
        "presented": "En la red, el CONNECT de {name} presentó el offset {offset}.",
        "noticed": ("El cliente de {name} dejó de responder sin cerrar nada. El servidor se dio "
                    "cuenta solo al vencer el ping (intervalo de ping + tiempo de espera del ping: "
                    "{limit} s aquí), y guarda la sesión: is_kept: {kept}. El «{drop}» en la red es ese "
                    "momento."),
        "forgotten_at_once": ("{name} se despidió (un paquete DISCONNECT en la red): el servidor "
                              "olvidó la sesión en el acto, is_kept: {kept}."),
        "not_kept": "{sender} envió «{text}»; no se guarda nada para {name}, cuya sesión ya no existe.",
        "expired": ("Pasó el tiempo: tras max_disconnection_duration ({duration} s) el servidor "
                    "olvidó la sesión de {name}, is_kept: {kept}."),
        "buffer_forgot": ("La vista del búfer ya no muestra la sesión de {name} ni lo que se guardó "
                          "para ella."),
    },
    "local_redis": {
        "missing": ("redis-server no está instalado, así que esta parte se omite. Para ejecutarla: `sudo "
                    "apt-get install redis-server` (Debian, Ubuntu), `brew install redis` (macOS) o `conda "
                    "install -c conda-forge redis-server`, y reinicia el kernel."),
    },
}
