"""E-mail: messages rendered from templates, queued in PostgreSQL, sent by the mailer.

A message is written to ``mail_outbox`` in the same transaction as what it announces (a
verification token, a reset token), so it exists exactly when that does. The mailer sends
due messages and, when the SMTP server refuses or is down, retries with backoff (5 s,
10 s, 20 s … at most 15 minutes apart): an outage delays mail, it loses none.

Transports: SMTP (``SMTP_URL``: ``smtp://host:port`` or ``smtps://``, with optional
``user:password@``) via aiosmtplib; without it, messages are appended to an mbox file
under the data directory (``make run``), readable with any mail client.
"""

from __future__ import annotations

import asyncio
import logging
import mailbox
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib
import jinja2

from gateway.tenants import Tenant

log = logging.getLogger("proptrade.mail")

TEMPLATES = Path(__file__).with_name("templates") / "mail"
_environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                                  autoescape=jinja2.select_autoescape(["html"]),
                                  undefined=jinja2.StrictUndefined)
_text_environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                                       autoescape=False, undefined=jinja2.StrictUndefined)
MAX_BACKOFF = 15 * 60


def render(template: str, tenant: Tenant, **context: Any) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of a template for a tenant's branding."""
    context["branding"] = tenant.branding
    subject = _text_environment.get_template(f"{template}.subject").render(context)
    # One line: a program's or firm's name with a line break must not end the header.
    subject = " ".join(subject.split())
    text = _text_environment.get_template(f"{template}.txt").render(context)
    html = _environment.get_template(f"{template}.html").render(context)
    return subject, text, html


async def enqueue(connection: Any, tenant: Tenant, recipient: str, template: str,
                  **context: Any) -> None:
    """Queue a message (call inside the transaction that creates what it announces)."""
    subject, text, html = render(template, tenant, **context)
    await connection.execute(
        "INSERT INTO mail_outbox (tenant_id, recipient, subject, text_body, html_body) "
        "VALUES ($1, $2, $3, $4, $5)", tenant.id, recipient, subject, text, html)


class Transport(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class SmtpTransport:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "localhost"
        self.tls = parts.scheme == "smtps"
        self.port = parts.port or (465 if self.tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None

    async def send(self, message: EmailMessage) -> None:
        await aiosmtplib.send(message, hostname=self.host, port=self.port,
                              use_tls=self.tls, username=self.username,
                              password=self.password, timeout=10, start_tls=False)


class MboxTransport:
    """Appends to an mbox file: mail for a developer's machine."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def send(self, message: EmailMessage) -> None:
        def append() -> None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            box = mailbox.mbox(self.path)
            try:
                box.lock()
                box.add(message)
                box.flush()
            finally:
                box.unlock()
                box.close()

        await asyncio.to_thread(append)


def transport_for(smtp_url: str, data_dir: Path) -> Transport:
    return SmtpTransport(smtp_url) if smtp_url else MboxTransport(data_dir / "outbox.mbox")


class Mailer:
    """Sends queued messages; one loop per gateway process (rows are claimed with
    ``FOR UPDATE SKIP LOCKED``, so several gateways never send one message twice)."""

    def __init__(self, pool: Any, transport: Transport, sender: str) -> None:
        self.pool = pool
        self.transport = transport
        self.sender = sender
        self.wake = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                sent = await self.send_due()
            except Exception:  # the database itself: logged, tried again next round
                log.exception("mailer round failed")
                sent = 0
            if sent:
                continue
            self.wake.clear()
            try:
                await asyncio.wait_for(self.wake.wait(), 1.0)
            except TimeoutError:
                pass

    async def send_due(self, limit: int = 50) -> int:
        """Send what is due now; returns how many were sent."""
        sent = 0
        async with self.pool.acquire() as connection, connection.transaction():
            rows = await connection.fetch(
                "SELECT id, recipient, subject, text_body, html_body, attempts "
                "FROM mail_outbox WHERE sent_at IS NULL AND next_attempt_at <= now() "
                "ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED", limit)
            for row in rows:
                try:
                    await self.transport.send(self._message(row))
                except Exception as error:  # the server, or a message it cannot take
                    if not isinstance(error, (aiosmtplib.SMTPException, OSError)):
                        log.exception("mail %d cannot be sent as it is", row["id"])
                    delay = min(MAX_BACKOFF, 5 * 2 ** row["attempts"])
                    log.warning("mail %d to the SMTP server failed (attempt %d, next in %d s):"
                                " %s", row["id"], row["attempts"] + 1, delay, error)
                    await connection.execute(
                        "UPDATE mail_outbox SET attempts = attempts + 1, last_error = $2, "
                        "next_attempt_at = now() + make_interval(secs => $3) WHERE id = $1",
                        row["id"], str(error)[:500], float(delay))
                    continue
                await connection.execute(
                    "UPDATE mail_outbox SET sent_at = now(), attempts = attempts + 1 "
                    "WHERE id = $1", row["id"])
                sent += 1
        return sent

    def _message(self, row: Any) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = row["recipient"]
        message["Subject"] = row["subject"]
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = make_msgid(domain="proptrade")
        message.set_content(row["text_body"])
        message.add_alternative(row["html_body"], subtype="html")
        return message
