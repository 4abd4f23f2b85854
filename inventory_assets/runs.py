"""Running a job of the project from Python: the reconstructable job, a whole run config, ``execute``.

An entry point beside ``definitions.py`` (it loads the definitions, so it sits above the ``defs`` package):
the multiprocess and Celery engines load the job again in each step process through
:func:`reconstructable_job`; ``execute`` is ``dagster job execute`` in one call (docs/scaling.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg

from inventory_assets.definitions import defs
from inventory_assets.defs.automation import executors
from inventory_assets.defs.automation.schedules import plan_run_config


def run_config(
    engine: str = executors.IN_PROCESS, *, ops: Mapping[str, Any] | None = None, **options: Any
) -> dict[str, Any]:
    """A whole run config: the run config of automated runs (``schedules.plan_run_config``, empty: every knob
    takes its default, which ``INVENTORY_PLAN_BUDGET`` and the like set) plus ``ops`` and the engine."""
    config = dict(plan_run_config().to_config_dict())
    if ops:
        config["ops"] = {**config.get("ops", {}), **ops}
    config.update(executors.execution_config(engine, **options))
    return config


def planning_job_definition() -> dg.JobDefinition:
    """``planning_job`` resolved from the project's definitions (the target of :func:`reconstructable_job`)."""
    return defs().resolve_job_def("planning_job")


def sources_job_definition() -> dg.JobDefinition:
    """``sources_job`` resolved from the project's definitions."""
    return defs().resolve_job_def("sources_job")


def planning_job_celery_definition() -> dg.JobDefinition:
    """``planning_job_celery`` (the planning graph on Celery workers) resolved from the project's definitions."""
    return defs().resolve_job_def(executors.CELERY_JOB)


_JOB_TARGETS = {
    "planning_job": planning_job_definition,
    "sources_job": sources_job_definition,
    executors.CELERY_JOB: planning_job_celery_definition,
}


def reconstructable_job(name: str = "planning_job"):
    """The job as a ``ReconstructableJob``: what step processes and Celery workers load again by module."""
    try:
        return dg.reconstructable(_JOB_TARGETS[name])
    except KeyError:
        raise ValueError(f"unknown job {name!r}; choose one of {', '.join(_JOB_TARGETS)}") from None


def execute(
    instance: dg.DagsterInstance,
    engine: str = executors.IN_PROCESS,
    *,
    job: str = "planning_job",
    ops: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    raise_on_error: bool = False,
    **options: Any,
):  # -> dagster ExecuteJobResult
    """Run ``job`` synchronously with ``engine`` against a persistent ``instance`` (``dg.execute_job``); the
    celery engine runs ``planning_job``'s graph as ``planning_job_celery``.

    The same call as ``dagster job execute -m inventory_assets.definitions -j planning_job -c <yaml>``;
    the multiprocess and celery engines need ``instance`` to be persistent (``DagsterInstance.get()``
    with ``DAGSTER_HOME`` set, or ``DagsterInstance.from_config(home)``).
    """
    return dg.execute_job(
        reconstructable_job(executors.job_for(engine, job)),
        instance=instance,
        run_config=run_config(engine, ops=ops, **options),
        tags=dict(tags or {}),
        raise_on_error=raise_on_error,
    )
