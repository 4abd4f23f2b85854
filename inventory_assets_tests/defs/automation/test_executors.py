"""The same planning graph on three engines: in process, a process per step, and Celery workers.

The end-to-end tests (``slow``) share one deployment for the module: a fresh ``DAGSTER_HOME`` holding a
copy of the project's ``dagster.yaml`` (a persistent instance: SQLite run and event storage, the
filesystem IO manager under its ``storage/``) and the TINY demo in SQLite files. Each runs
``planning_job`` through ``inventory_assets.runs.execute`` (``dg.execute_job`` on the reconstructable
job) with one engine and checks that every step ran where the engine says, and that the plan it wrote is
the in-process run's: the same rows, ``order_qty`` equal per (product, location), every figure and the
objective equal to 1e-9 relative.

The Celery test starts a real worker (``dagster-celery worker start``) on the local RabbitMQ
(``INVENTORY_TEST_CELERY_BROKER``, default ``pyamqp://guest@127.0.0.1:5672//``, results over ``rpc://``)
listening on a queue of its own, against the same ``DAGSTER_HOME`` and databases, and stops its process
group at the end. Without a broker it skips, saying how to enable it; under CI (``CI=true``) it fails.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest
import yaml

from inventory_assets import runs
from inventory_assets.definitions import defs
from inventory_assets.defs.automation import executors
from inventory_assets.io import db, plan_store
from inventory_assets_tests.dagster_server import _descendants, wait_for
from inventory_assets_tests.helpers import PROJECT_ROOT, TINY, write_demo

CELERY_BROKER = os.environ.get("INVENTORY_TEST_CELERY_BROKER", executors.DEFAULT_CELERY_BROKER)
RUN_SPECIFIC = ["run_id", "planned_at"]
KEY = ["product_id", "location_id"]
RTOL = 1e-9
#: Engines docs/scaling.md describes how to add (dagster-k8s), not shipped.
NOT_YET_ENGINES = {"k8s"}

pytestmark = [
    # dagster-celery registers its task again for every step it submits (its own warning, harmless).
    pytest.mark.filterwarnings("ignore:Task name 'execute_plan' is already registered"),
]


# --- fast: the executor's configuration ----------------------------------------------------------------


def _job(engine: str = "in_process") -> dg.JobDefinition:
    return defs().resolve_job_def(executors.job_for(engine))


def test_the_jobs_run_in_process_unless_the_run_config_says_otherwise() -> None:
    """Dagster's own executors: multi_or_in_process (configured with in process as its default) for every
    job but Celery's and for the UI's Materialize; Celery on its own job with the planning graph."""
    assert executors.EXECUTOR.name == dg.multi_or_in_process_executor.name
    jobs = [defs().resolve_job_def(n) for n in ("planning_job", "sources_job", "backtest_job", "frontier_job")]
    for job in [*jobs, defs().resolve_implicit_global_asset_job_def()]:
        assert job.executor_def is executors.EXECUTOR, job.name
        assert dg.validate_run_config(job, {})["execution"] == {
            "multi_or_in_process_executor": {"in_process": {"retries": {"enabled": {}}}}
        }, job.name
    celery = _job("celery")
    assert celery.name == executors.CELERY_JOB and celery.executor_def is executors.celery_executor()
    assert set(celery.asset_layer.executable_asset_keys) == set(_job().asset_layer.executable_asset_keys)


@pytest.mark.parametrize(
    "engine, options",
    [
        ("in_process", {}),
        ("multiprocess", {"max_concurrent": 2}),
        (
            "multiprocess",
            {
                "max_concurrent": 2,
                "start_method": {"forkserver": {"preload_modules": ["inventory_assets.definitions"]}},
            },
        ),
        ("celery", executors.celery_options()),
        ("celery", executors.celery_options("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/1", queue="planning")),
    ],
)
def test_each_engine_is_valid_run_config_of_its_job(engine: str, options: dict) -> None:
    resolved = dg.validate_run_config(_job(engine), runs.run_config(engine, **options))["execution"]
    if engine == "celery":
        assert resolved["celery"]["broker"] == options["broker"]
    else:
        assert engine in resolved["multi_or_in_process_executor"]


def test_an_unknown_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown engine"):
        executors.execution_config("dask")
    with pytest.raises(ValueError, match="unknown engine"):
        executors.job_for("dask")
    with pytest.raises(ValueError, match="runs planning_job's graph"):
        executors.job_for("celery", "sources_job")
    with pytest.raises(dg.DagsterInvalidConfigError):
        dg.validate_run_config(_job(), {"execution": {"config": {"in_process": {}, "multiprocess": {}}}})


def test_the_run_config_examples_of_the_scaling_doc_are_valid() -> None:
    """Every ``execution:`` YAML block of docs/scaling.md is accepted by its job (``planning_job``, or
    ``planning_job_celery`` for a Celery block), except those of the engines the page says are not there yet
    (``k8s``), which are refused."""
    text = (PROJECT_ROOT / "docs" / "scaling.md").read_text()
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL)]
    runs = [b for b in blocks if isinstance(b, dict) and "execution" in b]
    engines = set()
    for block in runs:
        config = block["execution"]["config"]
        engine = "celery" if "broker" in config else next(iter(config))
        if engine in executors.ENGINES:
            dg.validate_run_config(_job(engine), block)
            engines.add(engine)
        else:
            assert engine in NOT_YET_ENGINES, f"docs/scaling.md shows an unknown engine {engine!r}"
            with pytest.raises(dg.DagsterInvalidConfigError):
                dg.validate_run_config(_job(), block)
    assert engines == set(executors.ENGINES)


def test_the_celery_worker_command_and_its_config_file() -> None:
    options = executors.celery_options(queue="q1")
    worker_config = yaml.safe_load(executors.celery_worker_config_yaml(options))
    assert worker_config == {"execution": runs.run_config("celery", **options)["execution"]}
    assert worker_config == {"execution": {"config": options}}
    assert options["config_source"] == {"task_default_queue": "q1"}
    command = executors.celery_worker_command("/x/worker.yaml", queue="q1", name="w1", concurrency=2)
    assert command[1:6] == ["worker", "start", "-A", "dagster_celery.app", "-y"]
    assert command[command.index("-q") : command.index("-q") + 2] == ["-q", "q1"]
    assert command[-2:] == ["--", "--concurrency=2"]


# --- slow: the graph run end to end on each engine ---------------------------------------------------


@dataclass
class Deployment:
    home: Path
    urls: dict[str, str]
    instance: dg.DagsterInstance

    @property
    def plan_url(self) -> str:
        return self.urls[db.PLAN_URL_VAR]


@dataclass
class Outcome:
    """What one run of the planning job did and wrote."""

    run_id: str
    seconds: float
    steps: set[str]
    step_pids: dict[str, int]
    engine_messages: list[str]
    plan: pd.DataFrame
    run_row: dict


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    workdir = tmp_path_factory.mktemp("executors")
    home = workdir / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    urls = {var: f"sqlite:///{workdir / (var.lower() + '.db')}" for var in db.DEFAULT_URLS}
    write_demo(urls, TINY)
    with pytest.MonkeyPatch.context() as patch:
        # Step processes and Celery workers inherit these: the same instance and the same databases.
        patch.setenv("DAGSTER_HOME", str(home))
        for var, url in urls.items():
            patch.setenv(var, url)
        instance = dg.DagsterInstance.from_config(str(home))
        try:
            yield Deployment(home=home, urls=urls, instance=instance)
        finally:
            instance.dispose()


def _run(deployment: Deployment, engine: str, day_ranges: int = 1, **options) -> Outcome:
    started = time.monotonic()
    result = runs.execute(
        deployment.instance,
        engine,
        tags={"inventory/engine": engine},
        ops={"sales": {"config": {"day_ranges": day_ranges}}},
        **options,
    )
    seconds = time.monotonic() - started
    events = list(deployment.instance.all_logs(result.run_id))
    failures = [e.message for e in events if e.dagster_event and e.dagster_event.is_failure]
    assert result.success, f"{engine} run failed: {failures}"
    pids: dict[str, int] = {}
    steps: set[str] = set()
    for entry in events:
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type_value == "STEP_START":
            assert event.pid is not None, f"{event.step_key} started without a pid"
            pids[event.step_key] = event.pid
        elif event.event_type_value == "STEP_SUCCESS":
            steps.add(event.step_key)
    messages = [
        e.message or "" for e in events if e.dagster_event and e.dagster_event.event_type_value == "ENGINE_EVENT"
    ]
    run_row = plan_store.current_run(deployment.plan_url)
    assert run_row is not None and run_row["run_id"] == result.run_id, "the run's plan is not the current plan"
    plan = plan_store.current_plan(deployment.plan_url)
    return Outcome(result.run_id, seconds, steps, pids, messages, plan, run_row)


@pytest.fixture(scope="module")
def in_process(deployment: Deployment) -> Outcome:
    """The reference: the planning job in one process (the definitions' default)."""
    return _run(deployment, "in_process")


SALES_DAYS = "sales.sales_days["
DAY_RANGES = 3  # the sharded runs read the sales window as three day ranges, three steps


def _sales_days_steps(outcome: Outcome) -> set[str]:
    return {step for step in outcome.steps if step.startswith(SALES_DAYS)}


def assert_same_plan(outcome: Outcome, reference: Outcome) -> None:
    """The same steps (but the sales day ranges), the same rows, equal order quantities, every figure and
    the objective to 1e-9."""
    assert outcome.steps - _sales_days_steps(outcome) == reference.steps - _sales_days_steps(reference)
    assert outcome.run_id != reference.run_id
    ours = outcome.plan.sort_values(KEY, ignore_index=True)
    theirs = reference.plan.sort_values(KEY, ignore_index=True)
    assert len(ours) == len(theirs) > 0
    pd.testing.assert_frame_equal(ours[KEY], theirs[KEY])
    assert np.array_equal(ours["order_qty"].to_numpy(), theirs["order_qty"].to_numpy()), "order_qty differs"
    pd.testing.assert_frame_equal(
        ours.drop(columns=RUN_SPECIFIC), theirs.drop(columns=RUN_SPECIFIC), check_exact=False, rtol=RTOL
    )
    for figure in ("objective", "spend", "budget"):
        assert outcome.run_row[figure] == pytest.approx(reference.run_row[figure], rel=RTOL, abs=0), figure
    assert outcome.run_row["status"] == reference.run_row["status"]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_planning_job_in_process_runs_every_step_in_the_run_process(in_process: Outcome) -> None:
    assert {
        "sales.sales_window",
        "sales.sales_assemble",
        "inventory",
        "costs",
        "locations",
        "receipts",
        "merged_dataset",
        "abc_risk_features",
        "procurement_plan",
        "published_plan",
    } <= in_process.steps
    assert set(in_process.step_pids.values()) == {os.getpid()}
    assert (in_process.plan["order_qty"] > 0).any()
    print(f"\nin_process: {in_process.seconds:.1f} s, {len(in_process.steps)} steps")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_planning_job_with_the_multiprocess_executor_makes_the_same_plan(
    deployment: Deployment, in_process: Outcome
) -> None:
    outcome = _run(
        deployment,
        "multiprocess",
        day_ranges=DAY_RANGES,
        max_concurrent=2,
        # A forkserver that imported the project once: each step's process is a fork of it, not a new Python.
        start_method={"forkserver": {"preload_modules": ["inventory_assets.definitions"]}},
    )
    pids = outcome.step_pids
    assert os.getpid() not in pids.values()
    assert len(set(pids.values())) == len(pids), f"steps shared a process: {pids}"
    assert len(_sales_days_steps(outcome)) == DAY_RANGES and len(_sales_days_steps(in_process)) == 1
    assert_same_plan(outcome, in_process)
    print(f"\nmultiprocess: {outcome.seconds:.1f} s (in process {in_process.seconds:.1f} s)")


# --- Celery ----------------------------------------------------------------------------------------------


def _broker_reachable(url: str) -> str | None:
    """None when the broker's port answers, else why not."""
    parsed = urllib.parse.urlsplit(url)
    host = parsed.hostname or "127.0.0.1"
    port = parsed.port or (6379 if parsed.scheme.startswith("redis") else 5672)
    try:
        with socket.create_connection((host, port), timeout=3):
            return None
    except OSError as error:
        return f"{host}:{port}: {error}"


@dataclass
class CeleryWorker:
    name: str
    queue: str
    options: dict
    log_path: Path
    process: subprocess.Popen

    def log(self, chars: int = 6000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


def _stop_worker(process: subprocess.Popen, grace_seconds: float = 30) -> set[int]:
    """SIGTERM to the worker's process group (Celery's warm shutdown), then SIGKILL; the pids it had."""
    pids = _descendants(process.pid) | {process.pid}
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        process.poll()
        time.sleep(0.3)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)
    return pids


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"  # a zombie has exited


def _delete_queue(broker: str, queue: str) -> None:
    """Remove the test's own queue from the broker (Celery declares it durable; it would stay behind)."""
    from kombu import Connection

    with contextlib.suppress(Exception), Connection(broker, connect_timeout=5) as connection:
        connection.default_channel.queue_delete(queue)


@pytest.fixture
def celery_worker(deployment: Deployment) -> Iterator[CeleryWorker]:
    problem = _broker_reachable(CELERY_BROKER)
    if problem:
        message = (
            f"the Celery broker {CELERY_BROKER} is not reachable ({problem}); start RabbitMQ on "
            "127.0.0.1:5672 (guest/guest) or set INVENTORY_TEST_CELERY_BROKER"
        )
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI must run the Celery test: {message}")
        pytest.skip(message)
    tag = uuid.uuid4().hex[:8]
    # A queue of its own: no other worker on the broker can take these steps, nor this worker others'.
    name, queue = f"inventory-test-{tag}", f"inventory-test-{tag}"
    options = executors.celery_options(CELERY_BROKER, queue=queue)
    config_yaml = deployment.home / f"celery-{tag}.yaml"
    config_yaml.write_text(executors.celery_worker_config_yaml(options))
    env = dict(
        os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}", PYTHONUNBUFFERED="1"
    )
    log_path = deployment.home / f"celery-{tag}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            executors.celery_worker_command(config_yaml, queue=queue, name=name, concurrency=2),
            cwd=deployment.home,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    worker = CeleryWorker(name=name, queue=queue, options=options, log_path=log_path, process=process)
    try:

        def ready() -> bool:
            assert process.poll() is None, f"the Celery worker exited with {process.returncode}\n{worker.log()}"
            return " ready." in worker.log(200_000)

        wait_for(ready, timeout=120, interval=0.5, what="the Celery worker to be ready")
        yield worker
    finally:
        pids = _stop_worker(process)
        _delete_queue(CELERY_BROKER, queue)
        left = [pid for pid in pids if _alive(pid)]
        assert not left, f"Celery worker processes still alive: {left}"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_planning_job_with_the_celery_executor_makes_the_same_plan(
    deployment: Deployment, in_process: Outcome, celery_worker: CeleryWorker
) -> None:
    outcome = _run(deployment, "celery", day_ranges=DAY_RANGES, **celery_worker.options)
    delegated = {
        m.removeprefix("[CeleryExecutor] Executing steps ").removesuffix(" in celery worker")
        for m in outcome.engine_messages
        if m.endswith("in celery worker")
    }
    assert delegated == outcome.steps, f"steps not run by the worker: {outcome.steps - delegated}"
    assert os.getpid() not in outcome.step_pids.values()
    worker_pids = _descendants(celery_worker.process.pid)
    assert set(outcome.step_pids.values()) <= worker_pids, "a step ran outside the worker's processes"
    assert f"{celery_worker.name}@" in celery_worker.log(1_000_000)
    assert len(_sales_days_steps(outcome)) == DAY_RANGES
    assert_same_plan(outcome, in_process)
    print(f"\ncelery: {outcome.seconds:.1f} s (in process {in_process.seconds:.1f} s)")
