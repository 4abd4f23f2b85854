"""Where asset values are kept between steps: a Parquet IO manager (``dg.UPathIOManager``), one folder per
asset and run, with a clear error when an input was never stored. Every step initialises it first, so it
also carries the check of the run's whole config (``run_config.RunConfigCheck``): a refused value fails
the run before its first step reads anything.

* **Columnar**: each value is written by ``io/value_store.py``: its DataFrames as Parquet files, the rest
  (the project's dataclasses, dates, numbers) pickled around references to them.
* **Keyed by run**: an asset's value is stored under ``<base>/<asset>/<run id>/``, so two runs at once (the
  instance allows two) never write the same files. A step reads the value of its own run (or, re-executed
  from a failure, of the run that made it); an asset not in the run is read from the run of its latest
  materialization. Once a run has stored an asset, the folders of that asset left by finished runs are
  removed (runs still going keep theirs): one or two copies per asset on disk.
* **Run-scoped intermediates** (the sales graph's day ranges, ``<base>/<run id>/sales.<op>[…]``) are
  removed once the graph's asset is stored: no step of the run, nor a re-execution from its failures,
  reads them again.
* **Only the columns a step reads**: an input declared with ``metadata={"columns": [...]}`` (as Dagster's
  database IO managers take it) reads only those columns of the value's frames: the features and the
  forecast read four of the sales frame's ten.
* **Missing values**: materializing one asset alone runs its checks too, and a cross-table check reads
  other assets (the inventory's check reads ``costs`` and ``locations``). On an instance that never
  materialized them (or whose storage was removed) the read fails with a permanent ``dg.Failure`` naming
  the asset and how to materialize it, not a bare ``FileNotFoundError``.
* **Memory between steps**: before a step reads its first input, what the allocators kept from the steps
  before goes back to the system (``parallel.return_freed_memory``), so that in one process it does not add to
  every later step's peak.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field
from upath import UPath

from inventory_assets.defs.run_config import RunConfigCheck
from inventory_assets.io import value_store
from inventory_assets.parallel import return_freed_memory


class MissingInputError(dg.Failure):
    """An input asset has no stored value in this Dagster instance."""


def _missing(what: str) -> MissingInputError:
    return MissingInputError(
        description=(
            f"{what} has no stored value in this Dagster instance (never materialized here, or its storage "
            f"was removed), and this step reads it. Materialize it too, e.g. "
            f"`dagster asset materialize -m inventory_assets --select 'group:sources'` for the sources, or "
            f"the whole planning graph."
        ),
        allow_retries=False,
    )


class _ProjectStorage(dg.UPathIOManager):
    """Values as Parquet folders under ``base``, keyed by asset and run (module docstring)."""

    def __init__(self, base: Path, instance: dg.DagsterInstance | None) -> None:
        super().__init__(base_path=UPath(base))
        self._base = base
        self._instance = instance  # None outside a run (build_output_context): nothing is removed
        self._released_before: str | None = None  # the step whose inputs memory was last released for

    # --- where ---------------------------------------------------------------------------------------

    def get_asset_relative_path(self, context: dg.InputContext | dg.OutputContext) -> UPath:
        return UPath(*context.asset_key.path, self._run_of(context))

    def _run_of(self, context: dg.InputContext | dg.OutputContext) -> str:
        """The run whose value of the asset this step writes (its own) or reads."""
        if isinstance(context, dg.OutputContext):
            return context.run_id
        upstream = context.upstream_output
        try:
            made_by = upstream.run_id if upstream is not None else None
        except dg.DagsterInvariantViolationError:
            made_by = None
        if made_by is not None and context.instance.get_run_by_id(made_by) is not None:
            return made_by  # made in this run, or in the run a re-execution comes from
        # An asset this run does not make: Dagster's upstream context then has no run id, or, for an asset
        # check's input, the id of no run (``__EPHEMERAL_RUN_ID``). Its value is its latest materialization's.
        event = context.instance.get_latest_materialization_event(context.asset_key)
        if event is None:
            raise _missing(context.asset_key.to_user_string())
        return event.run_id

    # --- what ----------------------------------------------------------------------------------------

    def dump_to_path(self, context: dg.OutputContext, obj: Any, path: UPath) -> None:
        stored = value_store.dump_value(obj, Path(str(path)))
        for reason in stored.inline:
            context.log.warning(
                f"{context.asset_key.to_user_string() if context.has_asset_key else context.name}: {reason}"
            )

    def load_from_path(self, context: dg.InputContext, path: UPath) -> Any:
        # an input declared with metadata {"columns": [...]} (as Dagster's database IO managers take it)
        # reads only those columns of the value's frames
        columns = (context.definition_metadata or {}).get("columns")
        return value_store.load_value(Path(str(path)), columns)

    # --- the IO manager's calls ----------------------------------------------------------------------

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        if context.has_asset_key:
            self._clear_old_layout(context.asset_key)
        super().handle_output(context, obj)
        if not context.has_asset_key:
            return
        self._remove_finished_runs(context)
        if "." in (context.step_key or ""):
            self._remove_intermediates(context.run_id, context.step_key.split(".", 1)[0])

    def load_input(self, context: dg.InputContext) -> Any:
        # what the steps before left in the allocators goes back to the system before a step reads its first
        # input: in one process (the default executor) it would otherwise add to every later step's peak
        step = self._step_of(context)
        if step is None or step != self._released_before:
            self._released_before = step
            return_freed_memory()
        try:
            return super().load_input(context)
        except FileNotFoundError:
            what = context.asset_key.to_user_string() if context.has_asset_key else context.name
            raise _missing(what) from None

    @staticmethod
    def _step_of(context: dg.InputContext) -> str | None:
        """``<run id>/<step key>`` of the step reading, None outside a run (``dg.build_input_context``)."""
        try:
            step = context.step_context
        except dg.DagsterInvariantViolationError:
            return None
        return f"{step.run_id}/{step.step.key}"

    # --- what is removed -----------------------------------------------------------------------------

    def _clear_old_layout(self, key: dg.AssetKey) -> None:
        """A value pickled by the filesystem IO manager of earlier versions (a file where the asset's
        folder goes): nothing reads it any more."""
        old = self._base.joinpath(*key.path)
        if old.is_file():
            old.unlink()

    def _remove_finished_runs(self, context: dg.OutputContext) -> None:
        """The folders of this asset left by other runs that have finished: the value just stored is the
        asset's latest materialization, the one every later read takes."""
        folder = self._base.joinpath(*context.asset_key.path)
        instance = self._instance
        if instance is None or not folder.is_dir():
            return
        for run_dir in folder.iterdir():
            if run_dir.name == context.run_id or not run_dir.is_dir():
                continue
            run = instance.get_run_by_id(run_dir.name)
            if run is None or run.is_finished:
                shutil.rmtree(run_dir, ignore_errors=True)

    def _remove_intermediates(self, run_id: str, graph: str) -> None:
        """The run's stored op outputs of ``graph`` (``<base>/<run id>/<graph>.<op>[...]``, e.g. the sales
        day ranges, 340 MB a run at medium when pickled): the graph's asset is stored, so no step of this
        run or of a re-execution from its failures reads them again. The run's folder goes when nothing
        else is left."""
        run_dir = self._base / run_id
        if not run_dir.is_dir():
            return
        for step_dir in run_dir.iterdir():
            if step_dir.name.startswith(f"{graph}."):
                shutil.rmtree(step_dir, ignore_errors=True)
        if not any(run_dir.iterdir()):
            run_dir.rmdir()


class ProjectIOManager(dg.ConfigurableIOManagerFactory):
    """Values as Parquet folders keyed by asset and run under the instance's ``storage/`` (or ``base_dir``),
    missing inputs failing with :class:`MissingInputError`; initialising it checks the run's config first."""

    run_config_check: RunConfigCheck

    base_dir: str | None = Field(
        default=None, description="Folder of the stored values; unset: the instance's storage/ folder."
    )

    def create_io_manager(self, context: dg.InitResourceContext) -> dg.IOManager:
        if self.base_dir:
            base = Path(self.base_dir)
        elif context.instance is not None:
            base = Path(context.instance.storage_directory())
        else:
            raise dg.DagsterInvariantViolationError("the IO manager needs a Dagster instance, or base_dir")
        return _ProjectStorage(base, context.instance)


storage = dg.Definitions(resources={"io_manager": ProjectIOManager(run_config_check=RunConfigCheck())})
