"""Citizens' e-mails go through the outbox to a real SMTP server (aiosmtpd): each is sent
exactly once, a relay that is down loses nothing, and the letters read right in Vietnamese."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, select

from engine.bootstrap import Core, Settings, bootstrap
from engine.models import OutboxMessage
from engine.scheduler import make_scheduler
from engine.services.outbox import (
    apology_letter,
    claim_messages,
    enqueue,
    received_letter,
    result_ready_letter,
    retry_delay,
    send_claimed,
    send_due,
    supplement_letter,
)
from tests.conftest import at
from web.cli import smtp_settings

NOW = at(23, 9)
AGENCY = "Sở Tư pháp tỉnh Hà Giang"
REFUSED = "refused@example.vn"


class Mailbox:
    """An aiosmtpd handler keeping every message it accepts; it refuses one recipient."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address == REFUSED:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"


class Relay:
    """A real SMTP server on a free local port that can be stopped and started again."""

    def __init__(self) -> None:
        self.mailbox = Mailbox()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def messages(self) -> list[EmailMessage]:
        return self.mailbox.messages


@pytest.fixture
def relay() -> Iterator[Relay]:
    """A running SMTP server on 127.0.0.1."""
    server = Relay()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mail_core(any_db: Engine, relay: Relay) -> Core:
    """A core whose SMTP settings point at the test relay."""
    return bootstrap(Settings(database_url=str(any_db.url), agency_name=AGENCY,
                              smtp_host="127.0.0.1", smtp_port=relay.port,
                              smtp_sender="motcua@sotuphap.example.vn"), db=any_db)


def queue(core: Core, key: str, to_address: str = "an.nguyen@example.vn",
          subject: str = "Đã tiếp nhận hồ sơ", body: str = "Kính gửi Ông/Bà Nguyễn Văn An,\n",
          now: Any = NOW) -> None:
    with core.db.begin() as conn:
        enqueue(conn, key=key, to_address=to_address, subject=subject, body=body, now=now)


def outbox(core: Core) -> list[OutboxMessage]:
    with core.uow() as uow:
        return list(uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_a_queued_email_arrives_once_with_its_vietnamese_subject_and_body(
        mail_core: Core, relay: Relay) -> None:
    letter = received_letter(agency_name=AGENCY, code="000.00.18.H57-261123-0001",
                             procedure_name="Cấp Phiếu lý lịch tư pháp",
                             applicant_name="Nguyễn Văn An", received_at=NOW,
                             appointment_at=at(4, 16, 30, month=12))
    queue(mail_core, "received:1", subject=letter.subject, body=letter.body)

    result = send_due(mail_core, NOW, "host:1")

    assert (result.sent, result.failed, result.deferred) == (1, 0, 0)
    [message] = relay.messages
    assert message["To"] == "an.nguyen@example.vn"
    assert message["From"] == "motcua@sotuphap.example.vn"
    assert message["Subject"] == letter.subject
    assert message.get_content_charset() == "utf-8"
    body = message.get_content().replace("\r\n", "\n")  # lines end in CRLF on the wire
    assert body == letter.body
    assert "Ngày hẹn trả kết quả: 04/12/2026 16:30" in body
    [row] = outbox(mail_core)
    assert row.sent_at == NOW and row.attempts == 1 and row.lock_owner is None
    assert send_due(mail_core, NOW, "host:1").sent == 0
    assert send_due(mail_core, NOW + timedelta(days=1), "host:2").sent == 0
    assert len(relay.messages) == 1


def test_queueing_the_same_key_twice_sends_one_email(mail_core: Core, relay: Relay) -> None:
    queue(mail_core, "received:1")
    queue(mail_core, "received:1", subject="another subject")

    assert send_due(mail_core, NOW, "host:1").sent == 1
    assert [m["Subject"] for m in relay.messages] == ["Đã tiếp nhận hồ sơ"]
    assert len(outbox(mail_core)) == 1


def test_a_message_is_not_sent_before_it_is_due(mail_core: Core, relay: Relay) -> None:
    queue(mail_core, "received:1", now=NOW)

    assert send_due(mail_core, NOW - timedelta(seconds=1), "host:1").sent == 0
    assert relay.messages == []


def test_a_relay_that_is_down_loses_nothing_and_the_message_goes_once_after_the_backoff(
        mail_core: Core, relay: Relay) -> None:
    relay.stop()
    queue(mail_core, "received:1")

    result = send_due(mail_core, NOW, "host:1")

    assert (result.sent, result.failed) == (0, 1)
    [row] = outbox(mail_core)
    assert row.sent_at is None and row.attempts == 1 and row.lock_owner is None
    assert row.next_attempt_at == NOW + timedelta(minutes=1)
    assert row.last_error and "ConnectionRefusedError" in row.last_error
    relay.start()
    assert send_due(mail_core, NOW + timedelta(seconds=59), "host:1").sent == 0
    assert send_due(mail_core, NOW + timedelta(minutes=1), "host:1").sent == 1
    assert send_due(mail_core, NOW + timedelta(minutes=1), "host:1").sent == 0
    assert send_due(mail_core, NOW + timedelta(minutes=1), "host:2").sent == 0
    assert len(relay.messages) == 1
    [row] = outbox(mail_core)
    assert row.sent_at == NOW + timedelta(minutes=1) and row.attempts == 2
    assert row.last_error is None


def test_each_failure_waits_longer_and_then_every_six_hours_for_ever(
        mail_core: Core, relay: Relay) -> None:
    relay.stop()
    queue(mail_core, "received:1")
    now, waits = NOW, []
    for _ in range(7):
        assert send_due(mail_core, now, "host:1").failed == 1
        [row] = outbox(mail_core)
        assert row.next_attempt_at is not None
        waits.append(row.next_attempt_at - now)
        now = row.next_attempt_at

    minutes = [int(wait.total_seconds() // 60) for wait in waits]
    assert minutes == [1, 5, 30, 120, 360, 360, 360]
    assert retry_delay(1000) == timedelta(hours=6)


def test_while_the_relay_is_down_one_message_is_tried_and_the_others_wait_unharmed(
        mail_core: Core, relay: Relay) -> None:
    relay.stop()
    for n in range(3):
        queue(mail_core, f"received:{n}")

    result = send_due(mail_core, NOW, "host:1")

    assert (result.sent, result.failed, result.deferred) == (0, 1, 2)
    rows = outbox(mail_core)
    assert [row.attempts for row in rows] == [1, 0, 0]
    assert all(row.lock_owner is None for row in rows)
    relay.start()
    assert send_due(mail_core, NOW + timedelta(seconds=10), "host:1").sent == 2
    assert send_due(mail_core, NOW + timedelta(minutes=1), "host:1").sent == 1
    assert len(relay.messages) == 3


def test_a_refused_recipient_is_retried_later_and_does_not_hold_back_the_others(
        mail_core: Core, relay: Relay) -> None:
    queue(mail_core, "received:1", to_address=REFUSED)
    queue(mail_core, "received:2")

    result = send_due(mail_core, NOW, "host:1")

    assert (result.sent, result.failed, result.deferred) == (1, 1, 0)
    refused, sent = outbox(mail_core)
    assert refused.sent_at is None and refused.next_attempt_at == NOW + timedelta(minutes=1)
    assert refused.last_error and "550" in refused.last_error
    assert sent.sent_at == NOW


def test_two_schedulers_claiming_at_once_never_both_send(mail_core: Core,
                                                         relay: Relay) -> None:
    queue(mail_core, "received:1")

    first = claim_messages(mail_core, NOW, "host:1", 50)
    second = claim_messages(mail_core, NOW, "host:2", 50)

    assert len(first) == 1 and second == []
    assert send_claimed(mail_core, second, "host:2", NOW).sent == 0
    assert send_claimed(mail_core, first, "host:1", NOW).sent == 1
    assert len(relay.messages) == 1


def test_a_lost_lease_skips_the_message_and_the_new_holder_sends_it_once(
        mail_core: Core, relay: Relay) -> None:
    queue(mail_core, "received:1")
    stalled = claim_messages(mail_core, NOW, "host:1", 50)
    later = NOW + timedelta(seconds=mail_core.settings.lease_seconds + 1)
    taken_over = claim_messages(mail_core, later, "host:2", 50)
    assert stalled == taken_over

    late = send_claimed(mail_core, stalled, "host:1", NOW)
    on_time = send_claimed(mail_core, taken_over, "host:2", later)

    assert (late.sent, late.deferred) == (0, 1)
    assert on_time.sent == 1
    assert len(relay.messages) == 1


def test_the_scheduler_runs_the_outbox_pass_next_to_the_due_pass(mail_core: Core) -> None:
    scheduler = make_scheduler(mail_core, blocking=False)

    job = scheduler.get_job("outbox_pass")

    assert job is not None and scheduler.get_job("due_pass") is not None
    assert job.max_instances == 1 and job.coalesce is True
    assert job.trigger.interval == timedelta(seconds=10)


def test_the_smtp_relay_comes_from_the_motcua_smtp_variables() -> None:
    settings = smtp_settings(Settings(), {
        "MOTCUA_SMTP_HOST": "mail.hagiang.gov.vn", "MOTCUA_SMTP_PORT": "587",
        "MOTCUA_SMTP_SENDER": "motcua@hagiang.gov.vn", "MOTCUA_SMTP_USERNAME": "motcua",
        "MOTCUA_SMTP_PASSWORD": "secret", "MOTCUA_SMTP_STARTTLS": "true"})

    assert (settings.smtp_host, settings.smtp_port, settings.smtp_sender,
            settings.smtp_username, settings.smtp_password, settings.smtp_starttls) == (
        "mail.hagiang.gov.vn", 587, "motcua@hagiang.gov.vn", "motcua", "secret", True)
    assert "secret" not in repr(settings)
    assert smtp_settings(Settings(), {}) == Settings()


def test_the_received_letter_names_the_agency_dossier_procedure_and_local_dates() -> None:
    letter = received_letter(agency_name=AGENCY, code="000.00.18.H57-261123-0001",
                             procedure_name="Cấp Phiếu lý lịch tư pháp",
                             applicant_name="Nguyễn Văn An", received_at=NOW,
                             appointment_at=at(4, 16, 30, month=12))

    assert letter.subject == f"[{AGENCY}] Đã tiếp nhận hồ sơ 000.00.18.H57-261123-0001"
    assert "Kính gửi Ông/Bà Nguyễn Văn An," in letter.body
    assert "Thủ tục: Cấp Phiếu lý lịch tư pháp" in letter.body
    assert "Ngày tiếp nhận: 23/11/2026 09:00" in letter.body
    assert "Ngày hẹn trả kết quả: 04/12/2026 16:30" in letter.body


def test_the_supplement_letter_says_what_is_missing_or_where_to_ask() -> None:
    known = supplement_letter(agency_name=AGENCY, code="C-1", procedure_name="Chứng thực",
                              applicant_name="Trần Thị Bình", requested_at=NOW,
                              missing="Bản sao căn cước công dân")
    unknown = supplement_letter(agency_name=AGENCY, code="C-1", procedure_name="Chứng thực",
                                applicant_name="Trần Thị Bình", requested_at=NOW)

    assert known.subject == f"[{AGENCY}] Yêu cầu bổ sung hồ sơ C-1"
    assert "Nội dung cần bổ sung: Bản sao căn cước công dân" in known.body
    assert f"liên hệ Bộ phận Một cửa của {AGENCY}" in unknown.body
    assert "Ngày yêu cầu: 23/11/2026 09:00" in known.body


def test_the_result_ready_and_apology_letters_carry_their_dates() -> None:
    ready = result_ready_letter(agency_name=AGENCY, code="C-1", procedure_name="Chứng thực",
                                applicant_name="Lê Văn Cường", resolved_at=at(30, 14, 5))
    sorry = apology_letter(agency_name=AGENCY, code="C-1", procedure_name="Chứng thực",
                           applicant_name="Lê Văn Cường", reason="Cần xác minh thêm",
                           previous_appointment_at=at(30, 17),
                           new_appointment_at=at(3, 17, month=12))

    assert ready.subject == f"[{AGENCY}] Đã có kết quả giải quyết hồ sơ C-1"
    assert "Ngày có kết quả: 30/11/2026 14:05" in ready.body
    assert f"Bộ phận Một cửa của {AGENCY}" in ready.body
    assert "xin lỗi" in sorry.subject and f"{AGENCY} thành thật xin lỗi" in sorry.body
    assert "Lý do: Cần xác minh thêm" in sorry.body
    assert "Ngày hẹn trả kết quả trước đây: 30/11/2026 17:00" in sorry.body
    assert "Ngày hẹn trả kết quả mới: 03/12/2026 17:00" in sorry.body
