"""The run-failure alert: Dagster's email sensor, configured by environment variables, off when they are unset.

When ``INVENTORY_ALERT_EMAIL_TO`` is set, the code location defines ``email_on_run_failure``
(``dg.make_email_on_run_failure_sensor``), running by default: every failed run of this code location
(the planning job, the sources, the backtest, a UI **Materialize**) sends one email saying which job
failed, which steps and blocking checks failed and why, and that the plan in use is unchanged. The
variables are read when the code location loads (restart ``make ui`` after changing one):

==================================  =====================================================================
variable                            meaning
==================================  =====================================================================
``INVENTORY_ALERT_EMAIL_TO``        recipients, comma-separated; unset or empty: no alert sensor at all
``INVENTORY_ALERT_EMAIL_FROM``      the sender address (required with ``_TO``)
``INVENTORY_ALERT_SMTP_HOST``       the SMTP server (required with ``_TO``)
``INVENTORY_ALERT_SMTP_TYPE``       ``SSL`` (implicit TLS, the default) or ``STARTTLS``
``INVENTORY_ALERT_SMTP_PORT``       default 465 for SSL, 587 for STARTTLS
``INVENTORY_ALERT_SMTP_USER``       the login; default the sender address
``INVENTORY_ALERT_SMTP_PASSWORD``   the login's password (required with ``_TO``; never logged or shown)
``INVENTORY_WEBSERVER_URL``         the UI's address, for a link to the run in the email (optional)
==================================  =====================================================================

A set ``_TO`` with a missing or invalid companion fails the code location's load naming the variable.
The server's certificate is verified (``ssl.create_default_context()``); a private CA is trusted through
``SSL_CERT_FILE``. See docs/operations.md ("Alerts").
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import dagster as dg

from inventory_assets.defs.config import EnvironmentDefaultError

EMAIL_TO_VAR = "INVENTORY_ALERT_EMAIL_TO"
EMAIL_FROM_VAR = "INVENTORY_ALERT_EMAIL_FROM"
SMTP_HOST_VAR = "INVENTORY_ALERT_SMTP_HOST"
SMTP_TYPE_VAR = "INVENTORY_ALERT_SMTP_TYPE"
SMTP_PORT_VAR = "INVENTORY_ALERT_SMTP_PORT"
SMTP_USER_VAR = "INVENTORY_ALERT_SMTP_USER"
SMTP_PASSWORD_VAR = "INVENTORY_ALERT_SMTP_PASSWORD"
WEBSERVER_URL_VAR = "INVENTORY_WEBSERVER_URL"

SENSOR_NAME = "email_on_run_failure"
SMTP_TYPES = ("SSL", "STARTTLS")
STEP_ERROR_LINES = 6
"""Lines of each failed step's error quoted in the email (the rest is in the run's page)."""


def _text(environ: Mapping[str, str], var: str) -> str:
    return (environ.get(var) or "").strip()


def failure_email_body(context: dg.RunFailureSensorContext) -> str:
    """What failed and why, for a planner who reads it away from the UI (HTML: the sensor sends HTML)."""
    run = context.dagster_run
    lines = [f"<p>Run <b>{run.run_id}</b> of <b>{run.job_name}</b> failed. The plan in use is unchanged.</p>"]
    steps = []
    for event in context.get_step_failure_events():
        error = event.step_failure_data.error
        text = error.message.strip() if error is not None else "(no error message)"
        shown = "\n".join(text.splitlines()[:STEP_ERROR_LINES])
        steps.append(f"<li><b>{event.step_key}</b><pre>{_escape(shown)}</pre></li>")
    if steps:
        lines.append("<p>Failed steps:</p><ul>" + "".join(steps) + "</ul>")
    checks = [
        record.event_log_entry.dagster_event.asset_check_evaluation_data
        for record in context.instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        ).records
        if record.event_log_entry.dagster_event is not None
    ]
    failed = [c for c in checks if c is not None and not c.passed]
    if failed:
        names = "".join(
            f"<li>{c.asset_key.to_user_string()}: {c.check_name}"
            + (f"<pre>{_escape(c.description.strip())}</pre>" if c.description else "")
            + "</li>"
            for c in failed
        )
        lines.append(f"<p>Checks that did not pass:</p><ul>{names}</ul>")
    if not steps:
        lines.append(f"<p>{_escape(context.failure_event.message or 'The run failed before any step.')}</p>")
    return "\n".join(lines)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def build_failure_alert(environ: Mapping[str, str] | None = None) -> dg.SensorDefinition | None:
    """The email sensor configured from ``environ`` (default: the process's), or None when no recipient is
    set; a set recipient with a missing or invalid companion variable raises :class:`EnvironmentDefaultError`."""
    env = os.environ if environ is None else environ
    recipients = [r.strip() for r in _text(env, EMAIL_TO_VAR).split(",") if r.strip()]
    if not recipients:
        return None
    missing = [var for var in (EMAIL_FROM_VAR, SMTP_HOST_VAR, SMTP_PASSWORD_VAR) if not _text(env, var)]
    if missing:  # Dagster's sensor always logs in, so the password is required too
        raise EnvironmentDefaultError(f"{EMAIL_TO_VAR} is set, so {', '.join(missing)} must be set too")
    smtp_type = (_text(env, SMTP_TYPE_VAR) or "SSL").upper()
    if smtp_type not in SMTP_TYPES:
        raise EnvironmentDefaultError(f"{SMTP_TYPE_VAR}={smtp_type!r}: expected SSL or STARTTLS")
    port_text = _text(env, SMTP_PORT_VAR)
    port: int | None = None
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise EnvironmentDefaultError(f"{SMTP_PORT_VAR}={port_text!r}: expected a port number (1-65535)")
        port = int(port_text)
    return dg.make_email_on_run_failure_sensor(
        email_from=_text(env, EMAIL_FROM_VAR),
        email_password=env[SMTP_PASSWORD_VAR],
        email_to=recipients,
        email_body_fn=failure_email_body,
        email_subject_fn=lambda context: f"Inventory planning: run of {context.dagster_run.job_name} failed",
        smtp_host=_text(env, SMTP_HOST_VAR),
        smtp_type=smtp_type,
        smtp_port=port,
        smtp_user=_text(env, SMTP_USER_VAR) or None,
        name=SENSOR_NAME,
        webserver_base_url=_text(env, WEBSERVER_URL_VAR) or None,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )


_ALERT = build_failure_alert()
alerts = dg.Definitions(sensors=[_ALERT] if _ALERT is not None else [])
