"""A misbehaving SMTP server on 127.0.0.1 (a free port) whose every reply can be scripted per recipient.

aiosmtpd cannot be told to answer QUIT with an error or to fall silent after a message body, so this is a
small threaded socket server speaking just enough SMTP. It counts every message body it received in full,
per recipient, whatever it answered: that is what a recipient could end up with.

Behaviours (by recipient): `quit_error` (250 to the body, 421 to QUIT), `quit_drop` (250, then close on
QUIT), `drop_after_body` (close with no reply to the body), `silent_after_body` (never answer the body),
`temp_rcpt:N` (451 to RCPT the first N times), `perm_rcpt` (550 to RCPT), `temp_after_body` (451 to the body),
`perm_after_body` (554 to the body).
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Script:
    behaviour: dict[str, str] = field(default_factory=dict)
    bodies: Counter = field(default_factory=Counter)  # full message bodies received, per recipient
    accepted: Counter = field(default_factory=Counter)  # ... of which answered 250
    rcpt_attempts: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(socketserver.StreamRequestHandler):
    timeout = 30

    def _reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:  # one branch per SMTP command
        script: Script = self.server.script  # type: ignore[attr-defined]
        self._reply("220 scripted ESMTP")
        rcpt = ""
        try:
            while line := self.rfile.readline():
                command = line.decode(errors="replace").strip()
                verb = command[:4].upper()
                mode = script.behaviour.get(rcpt, "")
                if verb in ("EHLO", "HELO"):
                    self._reply("250-scripted\r\n250 8BITMIME" if verb == "EHLO" else "250 scripted")
                elif verb == "MAIL":
                    self._reply("250 OK")
                elif verb == "RCPT":
                    rcpt = command.split(":", 1)[1].strip().strip("<>").split(">")[0].lower()
                    mode = script.behaviour.get(rcpt, "")
                    with script.lock:
                        script.rcpt_attempts[rcpt] += 1
                        tries = script.rcpt_attempts[rcpt]
                    if mode == "perm_rcpt":
                        self._reply("550 5.1.1 mailbox unavailable")
                    elif mode.startswith("temp_rcpt:") and tries <= int(mode.split(":")[1]):
                        self._reply("451 4.3.0 try again later")
                    else:
                        self._reply("250 OK")
                elif verb == "DATA":
                    self._reply("354 go ahead")
                    while (body_line := self.rfile.readline()) not in (b".\r\n", b""):
                        pass
                    if body_line == b"":
                        return
                    with script.lock:
                        script.bodies[rcpt] += 1
                    if mode == "drop_after_body":
                        return
                    if mode == "silent_after_body":
                        time.sleep(5)
                        return
                    if mode == "temp_after_body":
                        self._reply("451 4.3.0 queue full")
                    elif mode == "perm_after_body":
                        self._reply("554 5.6.0 content rejected")
                    else:
                        with script.lock:
                            script.accepted[rcpt] += 1
                        self._reply("250 2.0.0 queued")
                elif verb == "QUIT":
                    if mode == "quit_error":
                        self._reply("421 4.4.2 lost my way")
                    elif mode != "quit_drop":
                        self._reply("221 bye")
                    return
                else:
                    self._reply("250 OK")
        except (ConnectionError, TimeoutError, OSError):
            return


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class ScriptedSmtp:
    """Context manager: `with ScriptedSmtp({'a@x.com': 'quit_error'}) as smtp: smtp.port, smtp.script`."""

    def __init__(self, behaviour: dict[str, str] | None = None) -> None:
        self.script = Script(dict(behaviour or {}))
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.script = self.script  # type: ignore[attr-defined]
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ScriptedSmtp:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
