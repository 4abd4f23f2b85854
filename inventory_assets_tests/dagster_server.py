"""A real Dagster deployment for a test: ``dagster dev`` (webserver + daemon) on a free loopback port.

``dagster_server(workdir)`` is a context manager that

1. makes a fresh ``DAGSTER_HOME`` under ``workdir`` holding a copy of the project's ``dagster.yaml``;
2. writes fresh demo data (``TINY`` unless told otherwise) into SQLite files under ``workdir/data`` and
   points the three ``INVENTORY_*_DB_URL`` variables at them (the project's own ``data/`` is never touched);
3. starts ``dagster dev -h 127.0.0.1 -p <free port> -w workspace.yaml`` (the command ``make ui`` runs) in
   its own process group, output to ``workdir/dagster_dev.log``;
4. waits until the webserver answers, the code location is loaded and the daemons report healthy;
5. on exit (also when the test failed or was interrupted) stops it: SIGTERM to ``dagster dev`` (which
   shuts the webserver and daemon down), then SIGKILL to whatever is left of its process group and its
   descendants (code servers, run workers).

The :class:`DagsterServer` it yields has the URL, a small GraphQL helper, the official
``DagsterGraphQLClient``, the instance (same ``DAGSTER_HOME``) and the log's tail for failure messages.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from inventory_assets.demo import data as demo_data
from inventory_assets.io import db
from inventory_assets.io.plan_export import EXPORT_DIR_VAR

PROJECT_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
LOCATION_NAME = "inventory_assets"
REPOSITORY_NAME = "__repository__"
#: Daemons that must report healthy before a test may rely on the deployment.
REQUIRED_DAEMONS = ("SENSOR", "SCHEDULER", "QUEUED_RUN_COORDINATOR")

T = TypeVar("T")


class DagsterServerError(RuntimeError):
    """The deployment did not start, or a GraphQL call failed; the message ends with the log's tail."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_for(
    predicate: Callable[[], T | None], *, timeout: float, interval: float = 1.0, what: str = "a condition"
) -> T:
    """Poll ``predicate`` until it returns something truthy; TimeoutError naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


@dataclass
class DagsterServer:
    """A running ``dagster dev``: where it is, how to talk to it, and how to stop it."""

    home: Path
    port: int
    database_urls: dict[str, str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen | None = None
    _descendants: set[int] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    # --- talking to it -----------------------------------------------------------------------------

    def log_tail(self, chars: int = 6000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None, *, timeout: float = 60) -> dict:
        """POST one GraphQL document to the webserver; its ``data``, or DagsterServerError on ``errors``."""
        body = json.dumps({"query": query, "variables": dict(variables or {})}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = json.loads(response.read())
        if payload.get("errors"):
            raise DagsterServerError(f"GraphQL errors: {payload['errors']}")
        return payload["data"]

    def client(self):  # -> DagsterGraphQLClient (imported lazily: only some tests need it)
        """The official Python GraphQL client pointed at this webserver."""
        from dagster_graphql import DagsterGraphQLClient

        return DagsterGraphQLClient(HOST, port_number=self.port, timeout=60)

    @contextlib.contextmanager
    def instance(self) -> Iterator[Any]:
        """The deployment's instance (the same DAGSTER_HOME), opened in this process."""
        import dagster as dg

        instance = dg.DagsterInstance.from_config(str(self.home))
        try:
            yield instance
        finally:
            instance.dispose()

    def sensor_selector(self, name: str) -> dict[str, str]:
        return {"repositoryLocationName": LOCATION_NAME, "repositoryName": REPOSITORY_NAME, "sensorName": name}

    # --- health ------------------------------------------------------------------------------------

    def _answering(self) -> bool:
        self._check_alive()
        try:
            with urllib.request.urlopen(f"{self.url}/server_info", timeout=5) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def _location_loaded(self) -> bool:
        self._check_alive()
        data = self.graphql(
            """{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus
                 locationOrLoadError { __typename ... on PythonError { message } } } } } }"""
        )
        entries = {e["name"]: e for e in data["workspaceOrError"].get("locationEntries", [])}
        entry = entries.get(LOCATION_NAME)
        if not entry or entry["loadStatus"] != "LOADED":
            return False
        loaded = entry["locationOrLoadError"] or {}
        if loaded.get("__typename") == "PythonError":
            raise DagsterServerError(f"the code location failed to load: {loaded.get('message')}\n{self.log_tail()}")
        return loaded.get("__typename") == "RepositoryLocation"

    def daemon_health(self) -> dict[str, bool]:
        data = self.graphql("{ instance { daemonHealth { allDaemonStatuses { daemonType required healthy } } } }")
        return {s["daemonType"]: bool(s["healthy"]) for s in data["instance"]["daemonHealth"]["allDaemonStatuses"]}

    def _daemons_healthy(self) -> bool:
        self._check_alive()
        health = self.daemon_health()
        return all(health.get(name) for name in REQUIRED_DAEMONS)

    def _check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise DagsterServerError(f"dagster dev exited with code {self.process.returncode}\n{self.log_tail()}")

    def wait_until_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for what, predicate in (
            ("the webserver to answer", self._answering),
            ("the code location to load", self._location_loaded),
            (f"the daemons {', '.join(REQUIRED_DAEMONS)} to report healthy", self._daemons_healthy),
        ):
            try:
                wait_for(predicate, timeout=max(1.0, deadline - time.monotonic()), what=what)
            except TimeoutError as error:
                raise DagsterServerError(f"{error} at {self.url}\n{self.log_tail()}") from None

    # --- stopping ----------------------------------------------------------------------------------

    def stop(self, grace_seconds: float = 40) -> None:
        """SIGTERM to ``dagster dev``, then SIGKILL to its process group and descendants. Idempotent."""
        process, self.process = self.process, None
        if process is None:
            return
        self._descendants |= _descendants(process.pid)
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=grace_seconds)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # the group's id is the leader's pid (start_new_session)
        for pid in self._descendants:  # anything that left the group
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)


def _descendants(root: int) -> set[int]:
    """Pids of every live descendant of ``root`` (from /proc; empty where /proc is missing)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...; comm may hold spaces or parentheses
        fields = stat[stat.rfind(")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[int] = set()
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def _server_env(home: Path, urls: Mapping[str, str], extra: Mapping[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INVENTORY_", "DAGSTER_"))}
    if EXPORT_DIR_VAR in os.environ:  # the tests' exports stay in their temporary folder
        env[EXPORT_DIR_VAR] = os.environ[EXPORT_DIR_VAR]
    env.update(urls)
    env["DAGSTER_HOME"] = str(home)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


@contextlib.contextmanager
def dagster_server(
    workdir: Path,
    *,
    env: Mapping[str, str] | None = None,
    demo: demo_data.DemoSpec | None = None,
    startup_timeout: float = 300,
) -> Iterator[DagsterServer]:
    """A fresh ``dagster dev`` on a free loopback port (see the module docstring); stopped on exit."""
    from inventory_assets_tests.helpers import TINY

    workdir = Path(workdir)
    home = workdir / "dagster_home"
    home.mkdir(parents=True, exist_ok=False)
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    data = workdir / "data"
    data.mkdir(exist_ok=True)
    urls = {
        var: f"sqlite:///{data / name}"
        for var, name in (
            (db.CLOUD_URL_VAR, "cloud.db"),
            (db.ONPREM_URL_VAR, "onprem.db"),
            (db.PLAN_URL_VAR, "plan.db"),
        )
    }
    demo_data.build(demo or TINY, urls[db.CLOUD_URL_VAR], urls[db.ONPREM_URL_VAR], replace=True)

    server = DagsterServer(
        home=home,
        port=free_port(),
        database_urls=urls,
        env=_server_env(home, urls, env),
        log_path=workdir / "dagster_dev.log",
    )
    dagster = Path(sys.executable).parent / "dagster"
    command = [str(dagster), "dev", "-h", HOST, "-p", str(server.port), "-w", str(PROJECT_ROOT / "workspace.yaml")]
    with server.log_path.open("wb") as log:
        # cwd = DAGSTER_HOME: the instance is the copy's, and `dagster dev` sees no second dagster.yaml.
        server.process = subprocess.Popen(
            command,
            cwd=home,
            env=server.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        server.wait_until_healthy(startup_timeout)
        yield server
    finally:
        server.stop()
