"""How a run executes its steps: in one process, in parallel processes, or on Celery workers, by run config.

The project has **one** executor, ``planning_executor``, set on the ``dg.Definitions``: every job (and
"Materialize all" in the UI) uses it. It defaults to the in-process executor (on a 2-core machine a
process per step costs more than the steps), and a run's config picks another engine for the *same*
graph, with the options of Dagster's own executor of that name (docs/scaling.md):

.. code-block:: yaml

    execution:
      config:
        in_process: {}                  # the default: every step in the run's process
    # or
    execution:
      config:
        multiprocess:                   # dg.multiprocess_executor: a process per step
          max_concurrent: 2
    # or
    execution:
      config:
        celery:                         # dagster_celery.celery_executor: steps on Celery workers
          broker: pyamqp://guest@127.0.0.1:5672//
          backend: rpc://

The multiprocess and Celery engines need what any Dagster executor with several processes needs: a
persistent instance (``DAGSTER_HOME``) that the step processes share, a job loaded from code (the CLI,
the webserver/daemon, or :func:`reconstructable_job`), and step outputs stored where every step process
can read them (the default filesystem IO manager under the instance's storage: a shared volume when the
workers are on other machines). Celery also needs workers listening on the broker (:func:`celery_worker_command`)
and the ``celery`` extra (``pip install 'inventory_assets[celery]'``).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg

IN_PROCESS = "in_process"
MULTIPROCESS = "multiprocess"
CELERY = "celery"
ENGINES = (IN_PROCESS, MULTIPROCESS, CELERY)

EXECUTOR_NAME = "planning_executor"
#: The local RabbitMQ of a development machine (dagster-celery's own default, on the loopback address).
DEFAULT_CELERY_BROKER = "pyamqp://guest@127.0.0.1:5672//"
DEFAULT_CELERY_BACKEND = "rpc://"
#: The Celery queue dagster-celery sends steps to unless told otherwise.
DEFAULT_CELERY_QUEUE = "dagster"
CELERY_EXTRA_HINT = "the celery engine needs dagster-celery: pip install 'inventory_assets[celery]'"


def _celery_executor() -> dg.ExecutorDefinition | None:
    """``dagster_celery.celery_executor`` when the optional ``celery`` extra is installed, else None."""
    try:
        from dagster_celery import celery_executor
    except ImportError:
        return None
    return celery_executor


def _engine_field(executor_def: dg.ExecutorDefinition | None, description: str) -> dg.Field:
    if executor_def is None:  # celery without the extra: accepted by the schema, refused with the hint at launch
        return dg.Field(dg.Permissive(), is_required=False, description=f"{description} ({CELERY_EXTRA_HINT})")
    field = executor_def.config_schema.as_field()
    return dg.Field(field.config_type, default_value=field.default_value, is_required=False, description=description)


def _engines() -> dict[str, dg.ExecutorDefinition | None]:
    return {IN_PROCESS: dg.in_process_executor, MULTIPROCESS: dg.multiprocess_executor, CELERY: _celery_executor()}


def _requirements(config: Mapping[str, object]) -> Sequence[dg.ExecutorRequirement]:
    """In process: none. Several processes: a reconstructable job, a persistent instance, stored outputs."""
    return [] if IN_PROCESS in config else dg.multiple_process_executor_requirements()


@dg.executor(
    name=EXECUTOR_NAME,
    config_schema=dg.Field(
        dg.Selector(
            {
                IN_PROCESS: _engine_field(dg.in_process_executor, "Every step in the run's own process (the default)."),
                MULTIPROCESS: _engine_field(
                    dg.multiprocess_executor,
                    "A child process per step, up to max_concurrent at once (dg.multiprocess_executor).",
                ),
                CELERY: _engine_field(
                    _celery_executor(),
                    "Steps sent through a Celery broker to dagster-celery workers (dagster_celery.celery_executor).",
                ),
            }
        ),
        default_value={IN_PROCESS: {}},
        description="Which engine runs the steps; the graph, its assets and their results are the same.",
    ),
    requirements=_requirements,
)
def planning_executor(init_context: dg.InitExecutorContext) -> dg.Executor:
    """The in-process, multiprocess or Celery executor, chosen by ``execution: config: <engine>: {...}``."""
    ((engine, config),) = init_context.executor_config.items()
    executor_def = _engines()[engine]
    if executor_def is None:
        raise dg.DagsterInvalidConfigError(CELERY_EXTRA_HINT, [], init_context.executor_config)
    if not isinstance(config, Mapping):  # the selector's value is the chosen engine's config dict
        raise dg.DagsterInvalidConfigError(f"{engine}: expected a config mapping", [], init_context.executor_config)
    create_executor = executor_def.executor_creation_fn
    if create_executor is None:  # Dagster's in-process, multiprocess and Celery executors all have one
        raise dg.DagsterInvariantViolationError(f"the {engine} executor definition has no creation function")
    return create_executor(
        dg.InitExecutorContext(
            job=init_context.job, executor_def=executor_def, executor_config=config, instance=init_context.instance
        )
    )


# --- run config ------------------------------------------------------------------------------------


def execution_config(engine: str = IN_PROCESS, **options: Any) -> dict[str, Any]:
    """The run config fragment that picks ``engine`` with ``options``.

    E.g. ``execution_config("multiprocess", max_concurrent=2)``.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
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

    return yaml.safe_dump({"execution": {"config": dict(options)}}, sort_keys=False)


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


# One process per run by default: on small machines a process per step costs more than the steps
# themselves. A run's config picks the multiprocess or Celery engine for the same graph (docs/scaling.md).
executor = dg.Definitions(executor=planning_executor)
