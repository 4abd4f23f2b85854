"""The run-failure email alert, against a real SMTP server on the loopback (aiosmtpd, implicit TLS with a
certificate from a test CA, AUTH): a failed planning run sends one email naming the failed step and check;
the alert is off when its variables are unset; bad variables fail the load naming them."""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from inventory_assets.definitions import defs
from inventory_assets.defs.automation import alerts
from inventory_assets.defs.config import EnvironmentDefaultError
from inventory_assets.io import db
from inventory_assets_tests.helpers import materialize, write_demo

USER, PASSWORD = "alerts@example.test", "s3cret-smtp-pass"


@dataclass
class Mailbox:
    """What the SMTP server received: the messages and the logins it accepted or refused."""

    messages: list[EmailMessage] = field(default_factory=list)
    logins: list[tuple[str, bool]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd's handler hook
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            USER.encode(),
            PASSWORD.encode(),
        )
        self.logins.append((auth_data.login.decode() if isinstance(auth_data, LoginPassword) else "?", ok))
        return AuthResult(success=ok)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Mailbox, int]]:
    """An SMTPS server on the loopback whose certificate the test CA signed; the CA trusted through
    SSL_CERT_FILE, as a deployment trusts a private CA."""
    ca = trustme.CA()
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    mailbox = Mailbox()
    port = _free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        ssl_context=server_context,
        authenticator=mailbox.authenticate,
        auth_require_tls=False,  # aiosmtpd counts only STARTTLS as TLS; this connection is TLS from its first byte
    )
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


def _environ(port: int, **extra: str) -> dict[str, str]:
    return {
        alerts.EMAIL_TO_VAR: "planner@example.test, lead@example.test",
        alerts.EMAIL_FROM_VAR: USER,
        alerts.SMTP_HOST_VAR: "127.0.0.1",
        alerts.SMTP_PORT_VAR: str(port),
        alerts.SMTP_PASSWORD_VAR: PASSWORD,
        alerts.WEBSERVER_URL_VAR: "http://127.0.0.1:3000",
        **extra,
    }


def _body(message: EmailMessage) -> str:
    part = message.get_body(("html", "plain"))
    assert part is not None, message.as_string()
    return str(part.get_content())


def _failure_context(instance: dg.DagsterInstance, run_id: str) -> dg.RunFailureSensorContext:
    run = instance.get_run_by_id(run_id)
    assert run is not None
    [record] = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records
    event = record.event_log_entry.dagster_event
    assert event is not None
    return dg.build_run_status_sensor_context(
        sensor_name=alerts.SENSOR_NAME, dagster_event=event, dagster_instance=instance, dagster_run=run
    ).for_run_failure()


@pytest.mark.parametrize("empty_database", ["sqlite"], indirect=True)
def test_a_failed_planning_run_sends_one_email_naming_the_step_and_the_check(
    database_env: dict[str, str], smtp_server: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp_server
    write_demo(database_env)
    with db.make_engine(database_env[db.ONPREM_URL_VAR]).begin() as conn:  # a broken inventory feed
        conn.execute(sa.text("UPDATE inventory SET on_hand = -1 WHERE rowid IN (SELECT rowid FROM inventory LIMIT 2)"))
    sensor = alerts.build_failure_alert(_environ(port))
    assert sensor is not None and sensor.default_status == dg.DefaultSensorStatus.RUNNING
    with dg.instance_for_test() as instance:
        result = materialize(instance=instance)
        assert not result.success
        sensor(_failure_context(instance, result.run_id))  # what the daemon's tick does for this run

    assert mailbox.logins == [(USER, True)]
    [message] = mailbox.messages
    assert message["To"] == "planner@example.test, lead@example.test" and message["From"] == USER
    assert "failed" in message["Subject"]
    body = _body(message)
    assert result.run_id in body and "The plan in use is unchanged" in body
    assert "inventory_valid" in body  # the blocking check that stopped the plan
    assert f"http://127.0.0.1:3000/runs/{result.run_id}" in body
    assert PASSWORD not in message.as_string()


def test_a_run_refused_before_any_step_is_reported_too(smtp_server: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp_server
    sensor = alerts.build_failure_alert(_environ(port, **{alerts.SMTP_TYPE_VAR: "ssl"}))
    assert sensor is not None
    with dg.instance_for_test() as instance:
        result = materialize(instance=instance, run_config={"ops": {"procurement_plan": {"config": {"budget": -5.0}}}})
        sensor(_failure_context(instance, result.run_id))
    [message] = mailbox.messages
    assert result.run_id in _body(message)


def test_no_recipient_means_no_alert_sensor() -> None:
    assert alerts.build_failure_alert({}) is None
    assert alerts.build_failure_alert({alerts.EMAIL_TO_VAR: "  "}) is None
    names = {s.name for s in defs().sensors or []}
    assert (alerts.SENSOR_NAME in names) == bool(alerts.build_failure_alert() is not None)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({alerts.EMAIL_FROM_VAR: ""}, alerts.EMAIL_FROM_VAR),
        ({alerts.SMTP_PASSWORD_VAR: ""}, alerts.SMTP_PASSWORD_VAR),
        ({alerts.SMTP_TYPE_VAR: "PLAIN"}, "expected SSL or STARTTLS"),
        ({alerts.SMTP_PORT_VAR: "70000"}, "expected a port number"),
        ({alerts.SMTP_PORT_VAR: "smtp"}, "expected a port number"),
    ],
)
def test_bad_alert_variables_fail_the_load_naming_them(extra: dict[str, str], message: str) -> None:
    with pytest.raises(EnvironmentDefaultError, match=message):
        alerts.build_failure_alert(_environ(465, **extra))
