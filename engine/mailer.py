"""The SMTP mailer: hands one plain-text UTF-8 e-mail to the agency's mail relay."""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from engine.bootstrap import Settings

TIMEOUT_SECONDS = 10.0


class SendError(Exception):
    """The relay did not take a message; the outbox retries it later."""


class ServerUnavailable(SendError):
    """The relay could not be reached or broke the session: no message will go this pass."""


class MessageRefused(SendError):
    """The relay refused this message (sender, recipient or content), not the session."""


@dataclass(frozen=True)
class SmtpMailer:
    """Sends each message in its own SMTP session (STARTTLS and login when configured)."""

    host: str
    port: int
    sender: str
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = TIMEOUT_SECONDS

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpMailer:
        """The mailer the deployment settings describe."""
        return cls(settings.smtp_host, settings.smtp_port, settings.smtp_sender,
                   settings.smtp_starttls, settings.smtp_username, settings.smtp_password)

    def send(self, *, key: str, to_address: str, subject: str, body: str,
             now: datetime) -> None:
        """Send one message, or raise ServerUnavailable or MessageRefused."""
        message = self.compose(key=key, to_address=to_address, subject=subject, body=body,
                               now=now)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(message)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused,
                smtplib.SMTPDataError) as exc:
            raise MessageRefused(f"{type(exc).__name__}: {exc}") from exc
        except (smtplib.SMTPException, OSError) as exc:  # refused, timed out, dropped, TLS
            raise ServerUnavailable(
                f"{type(exc).__name__} from {self.host}:{self.port}: {exc}") from exc

    def compose(self, *, key: str, to_address: str, subject: str, body: str,
                now: datetime) -> EmailMessage:
        """The e-mail as it goes on the wire: UTF-8 text, a Message-ID fixed by the key."""
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to_address
        message["Subject"] = subject
        message["Date"] = format_datetime(now)
        # The same outbox row always carries the same Message-ID, so that a copy re-sent
        # after a crash (see engine.services.outbox) can be recognised as a duplicate.
        domain = self.sender.rpartition("@")[2] or "localhost"
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        message["Message-ID"] = f"<{digest}@{domain}>"
        message.set_content(body, charset="utf-8")
        return message
