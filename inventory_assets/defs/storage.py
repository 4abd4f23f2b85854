"""Where asset values are kept between steps: Dagster's filesystem IO manager, with a clear error when an
input was never stored. Every step initialises it first, so it also carries the check of the run's whole
config (``run_config.RunConfigCheck``): a refused value fails the run before its first step reads anything.

Materializing one asset alone runs its checks too, and a cross-table check reads other assets (the
inventory's check reads ``costs`` and ``locations``). On an instance that never materialized them, the
filesystem IO manager fails with a bare ``FileNotFoundError`` on a storage path. Here that becomes a
permanent ``dg.Failure`` naming the asset that is missing and how to materialize it.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from inventory_assets.defs.run_config import RunConfigCheck


class MissingInputError(dg.Failure):
    """An input asset has no stored value in this Dagster instance."""


class _ProjectStorage(dg.IOManager):
    """Dagster's filesystem IO manager (``inner``, storing under ``base``), with a missing stored value
    reported clearly, and a graph asset's intermediate outputs removed once the asset is stored."""

    def __init__(self, inner: dg.IOManager, base: Path) -> None:
        self._inner = inner
        self._base = base

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        self._inner.handle_output(context, obj)
        if context.has_asset_key and "." in (context.step_key or ""):
            self._remove_intermediates(context.run_id, context.step_key.split(".", 1)[0])

    def _remove_intermediates(self, run_id: str, graph: str) -> None:
        """The run's stored op outputs of ``graph`` (``<base>/<run id>/<graph>.<op>[...]``, e.g. the sales
        day ranges, 340 MB a run at medium): the graph's asset is stored, so no step of this run or of a
        re-execution from its failures reads them again. The run's folder goes when nothing else is left."""
        run_dir = self._base / run_id
        if not run_dir.is_dir():
            return
        for step_dir in run_dir.iterdir():
            if step_dir.name.startswith(f"{graph}."):
                shutil.rmtree(step_dir, ignore_errors=True)
        if not any(run_dir.iterdir()):
            run_dir.rmdir()

    def load_input(self, context: dg.InputContext) -> Any:
        try:
            return self._inner.load_input(context)
        except FileNotFoundError:
            what = context.asset_key.to_user_string() if context.has_asset_key else context.name
            raise MissingInputError(
                description=(
                    f"{what} has no stored value in this Dagster instance (never materialized here, or its storage "
                    f"was removed), and this step reads it. Materialize it too, e.g. "
                    f"`dagster asset materialize -m inventory_assets --select 'group:sources'` for the sources, or "
                    f"the whole planning graph."
                ),
                allow_retries=False,
            ) from None


class ProjectIOManager(dg.ConfigurableIOManagerFactory):
    """``dg.FilesystemIOManager`` (values pickled under the instance's ``storage/``, or ``base_dir``) whose
    missing inputs fail with :class:`MissingInputError`; initialising it checks the run's config first."""

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
        return _ProjectStorage(dg.FilesystemIOManager(base_dir=str(base)).create_io_manager(context), base)


storage = dg.Definitions(resources={"io_manager": ProjectIOManager(run_config_check=RunConfigCheck())})
