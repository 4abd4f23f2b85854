"""Gates: a step that must not run on data whose latest blocking checks failed.

A blocking check that fails stops downstream steps of the same run, but the checked asset is stored and
a later run that selects only a downstream asset would read it. The plan and its write-back therefore
look up the latest evaluation of every blocking check upstream of them and refuse to run on a failure.
"""

from collections.abc import Iterable, Sequence

import dagster as dg

# The statuses of a check execution record (their enum is not part of Dagster's public API; its values are).
_FAILED = "FAILED"
_COMPLETED = ("SUCCEEDED", _FAILED)


def blocking_check_keys(
    definitions: Iterable[dg.AssetsDefinition | dg.AssetChecksDefinition],
) -> list[dg.AssetCheckKey]:
    """The keys of every blocking check declared by ``definitions`` (assets with check specs, or checks)."""
    keys = {spec.key for d in definitions for spec in d.check_specs if spec.blocking}
    return sorted(keys, key=lambda k: (k.asset_key.to_user_string(), k.name))


def failed_checks(instance: dg.DagsterInstance, check_keys: Sequence[dg.AssetCheckKey]) -> list[str]:
    """Descriptions of the checks whose latest completed evaluation failed with ERROR, or that never ran."""
    storage = instance.event_log_storage
    latest = storage.get_latest_asset_check_execution_by_key(list(check_keys))
    problems: list[str] = []
    for key in check_keys:
        record = latest.get(key)
        if record is not None and record.status.value not in _COMPLETED:
            # Still running (or skipped): the latest completed evaluation decides. The status enum is the
            # record's own type (its module is private), so its members are taken from there.
            status = type(record.status)
            history = storage.get_asset_check_execution_history(
                key, limit=1, status={status[name] for name in _COMPLETED}
            )
            record = history[0] if history else None
        name = f"{key.asset_key.to_user_string()}:{key.name}"
        if record is None:
            problems.append(f"{name} has never completed")
            continue
        evaluation = record.evaluation
        if record.status.value == _FAILED and (
            evaluation is None or evaluation.severity == dg.AssetCheckSeverity.ERROR
        ):
            detail = f": {evaluation.description}" if evaluation is not None and evaluation.description else ""
            problems.append(f"{name} failed in run {record.run_id}{detail}")
    return problems


def require_passed_checks(context: dg.AssetExecutionContext, check_keys: Sequence[dg.AssetCheckKey], what: str) -> None:
    """Raise a non-retried ``dg.Failure`` naming the failed upstream checks, if any."""
    problems = failed_checks(context.instance, check_keys)
    if problems:
        raise dg.Failure(
            description=f"refusing to {what}: the latest evaluation of upstream blocking checks failed; fix the "
            "data and materialize the failed assets again. " + "; ".join(problems),
            metadata={"failed_checks": dg.MetadataValue.json(problems)},
            allow_retries=False,
        )
