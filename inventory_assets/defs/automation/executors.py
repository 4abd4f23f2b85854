"""How a run executes its steps: Dagster's own executors, in one process, a process per step, or on Celery.

* Every job and **Materialize** in the UI run on Dagster's ``dg.multi_or_in_process_executor`` (set on
  the ``dg.Definitions``), whose run config picks the engine and takes the options of Dagster's executor
  of that name. Its default is in process instead of Dagster's process per step (:data:`EXECUTOR`, the
  executor ``configured`` with that default, which a run's config overrides): on a 2-core machine a
  process per step costs more than the steps, and a job-level default would not reach **Materialize**:

  .. code-block:: yaml

      execution:
        config:
          in_process: {}                # the default: every step in the run's process
      # or
      execution:
        config:
          multiprocess:                 # dg.multiprocess_executor: a process per step
            max_concurrent: 2

* ``planning_job_celery``: the planning graph on Celery workers (``dagster_celery.celery_executor``, its
  own job, defined when the ``celery`` extra is installed), with that executor's config:

  .. code-block:: yaml

      execution:
        config:
          broker: pyamqp://guest@127.0.0.1:5672//
          backend: rpc://

The multiprocess and Celery engines need what any Dagster executor with several processes needs: a
persistent instance (``DAGSTER_HOME``) that the step processes share, a job loaded from code (the CLI,
the webserver/daemon, or ``runs.reconstructable_job``), and step outputs stored where every step process
can read them (the filesystem IO manager under the instance's storage: a shared volume when the
workers are on other machines). Celery also needs workers listening on the broker (:func:`celery_worker_command`)
and the ``celery`` extra (``pip install 'inventory_assets[celery]'``).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg

IN_PROCESS = "in_process"
MULTIPROCESS = "multiprocess"
CELERY = "celery"
ENGINES = (IN_PROCESS, MULTIPROCESS, CELERY)

EXECUTOR = dg.multi_or_in_process_executor.configured(
    lambda config: config,
    name=dg.multi_or_in_process_executor.name,
    config_schema=dg.Field(
        dg.multi_or_in_process_executor.config_schema.as_field().config_type,
        default_value={IN_PROCESS: {}},
        is_required=False,
        description="in_process (the default) or multiprocess, with the options of Dagster's executor of that name.",
    ),
)
"""Dagster's ``multi_or_in_process_executor`` with in process as its default: the executor of every job but
the Celery one, and of the UI's **Materialize**."""
CELERY_JOB = "planning_job_celery"
"""The planning graph on Celery workers."""
#: The local RabbitMQ of a development machine (dagster-celery's own default, on the loopback address).
DEFAULT_CELERY_BROKER = "pyamqp://guest@127.0.0.1:5672//"
DEFAULT_CELERY_BACKEND = "rpc://"
#: The Celery queue dagster-celery sends steps to unless told otherwise.
DEFAULT_CELERY_QUEUE = "dagster"
CELERY_EXTRA_HINT = "the celery engine needs dagster-celery: pip install 'inventory_assets[celery]'"


def celery_executor() -> dg.ExecutorDefinition | None:
    """``dagster_celery.celery_executor`` when the optional ``celery`` extra is installed, else None."""
    try:
        from dagster_celery import celery_executor as executor
    except ImportError:
        return None
    return executor


def job_for(engine: str, job: str = "planning_job") -> str:
    """The job that runs ``job``'s graph on ``engine``: the job itself, or ``planning_job_celery``."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if engine != CELERY:
        return job
    if job != "planning_job":
        raise ValueError(f"the celery engine runs planning_job's graph ({CELERY_JOB}), not {job!r}")
    if celery_executor() is None:
        raise ValueError(CELERY_EXTRA_HINT)
    return CELERY_JOB


# --- run config ------------------------------------------------------------------------------------


def execution_config(engine: str = IN_PROCESS, **options: Any) -> dict[str, Any]:
    """The run config fragment that picks ``engine`` with ``options`` (for the job :func:`job_for` names).

    E.g. ``execution_config("multiprocess", max_concurrent=2)``; ``execution_config("celery", **celery_options())``
    is the Celery job's executor config as it is.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if engine == CELERY:
        return {"execution": {"config": dict(options)}}
    return {"execution": {"config": {engine: dict(options)}}}


def celery_options(
    broker: str = DEFAULT_CELERY_BROKER,
    backend: str = DEFAULT_CELERY_BACKEND,
    *,
    queue: str | None = None,
    **config_source: Any,
) -> dict[str, Any]:
    """Options of the celery engine; ``queue`` routes the steps to workers listening on it (``-q``)."""
    options: dict[str, Any] = {"broker": broker, "backend": backend}
    source = dict(config_source)
    if queue is not None:
        source["task_default_queue"] = queue
    if source:
        options["config_source"] = source
    return options


# --- Celery workers -----------------------------------------------------------------------------------


def celery_worker_config_yaml(options: Mapping[str, Any]) -> str:
    """The ``-y`` file of ``dagster-celery worker start``: the same ``execution: config:`` block as the runs'."""
    import yaml

    return yaml.safe_dump(execution_config(CELERY, **options), sort_keys=False)


def celery_worker_command(
    config_yaml: str | Path,
    *,
    queue: str = DEFAULT_CELERY_QUEUE,
    name: str | None = None,
    concurrency: int | None = None,
    loglevel: str = "INFO",
) -> list[str]:
    """``dagster-celery worker start`` for this project's steps (run it with ``DAGSTER_HOME`` and the
    ``INVENTORY_*_DB_URL`` variables set, and the venv's ``bin`` on ``PATH``: it starts ``celery``)."""
    command = [
        str(Path(sys.executable).parent / "dagster-celery"),
        "worker",
        "start",
        "-A",
        "dagster_celery.app",
        "-y",
        str(config_yaml),
        "-q",
        queue,
        "-l",
        loglevel,
        "-i",
        "inventory_assets.definitions",
    ]
    if name:
        command += ["-n", name]
    if concurrency:
        command += ["--", f"--concurrency={concurrency}"]
    return command


executor = dg.Definitions(executor=EXECUTOR)
