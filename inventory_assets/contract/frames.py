"""Pandera schemas of the ``features`` frames, ``merged_dataset`` and ``abc_risk_features``, generated
from ``inventory_assets.contract.spec``.

Column contract: ``docs/frames.md``; formulas: ``docs/features.md``. Every check is meant to be
blocking. Frames are validated with ``lazy=True`` so one report lists every failure. pandera's own
``ge``/``gt`` accept ``inf``, hence the explicit ``finite`` checks.
"""

from __future__ import annotations

import pandera.pandas as pa

from inventory_assets.contract import spec

__all__ = ["MergedDatasetSchema", "DemandForecastSchema", "FeaturesSchema"]

MergedDatasetSchema: pa.DataFrameSchema = spec.MERGED_DATASET.to_pandera()
DemandForecastSchema: pa.DataFrameSchema = spec.DEMAND_FORECAST.to_pandera()
FeaturesSchema: pa.DataFrameSchema = spec.ABC_RISK_FEATURES.to_pandera()
