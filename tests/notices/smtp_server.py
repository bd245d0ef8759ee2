"""A tiny SMTP server on a localhost socket for the delivery tests (no aiosmtpd needed).

It speaks enough of RFC 5321 for ``smtplib``: EHLO/HELO, AUTH PLAIN, MAIL, RCPT, DATA,
RSET, NOOP, QUIT, and records each message it accepts. ``reject_rcpt`` makes it refuse
recipients containing that text (a permanent 550).
"""

from __future__ import annotations

import base64
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]


@dataclass
class Mailbox:
    messages: list[Received] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    reject_rcpt: str = ""


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def _send(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        box = self.server.mailbox
        sender, recipients = "", []
        self._send("220 fake.smtp ESMTP ready")
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode().rstrip("\r\n")
            verb = line.split(" ", 1)[0].upper()
            arg = line[len(verb) + 1 :]
            if verb == "EHLO":
                self._send("250-fake.smtp")
                self._send("250-AUTH PLAIN")
                self._send("250 8BITMIME")
            elif verb == "HELO":
                self._send("250 fake.smtp")
            elif verb == "AUTH":
                _mech, _, initial = arg.partition(" ")
                parts = base64.b64decode(initial).split(b"\0")
                box.logins.append((parts[1].decode(), parts[2].decode()))
                self._send("235 2.7.0 Authentication successful")
            elif verb == "MAIL":
                sender, recipients = arg.split(":", 1)[1].split()[0].strip("<>"), []
                self._send("250 OK")
            elif verb == "RCPT":
                rcpt = arg.split(":", 1)[1].strip().strip("<>")
                if box.reject_rcpt and box.reject_rcpt in rcpt:
                    self._send("550 5.1.1 No such user")
                else:
                    recipients.append(rcpt)
                    self._send("250 OK")
            elif verb == "DATA":
                self._send("354 End data with <CR><LF>.<CR><LF>")
                chunks: list[bytes] = []
                while True:
                    chunk = self.rfile.readline()
                    if chunk in (b".\r\n", b""):
                        break
                    chunks.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                box.messages.append(Received(sender, recipients, b"".join(chunks)))
                self._send("250 OK queued")
            elif verb in ("RSET", "NOOP"):
                self._send("250 OK")
            elif verb == "QUIT":
                self._send("221 Bye")
                return
            else:
                self._send("502 Command not implemented")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    mailbox: Mailbox


@contextmanager
def smtp_server() -> Iterator[tuple[int, Mailbox]]:
    """A running server on 127.0.0.1 and a free port; yields (port, mailbox)."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.mailbox = Mailbox()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], server.mailbox
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
