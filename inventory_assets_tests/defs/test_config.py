"""Run config made from the core's parameter dataclasses: one statement of each knob."""

from __future__ import annotations

import dataclasses

import dagster as dg
import pytest

from inventory_assets.analytics.features import FeatureParameters
from inventory_assets.analytics.merge import MergeParameters
from inventory_assets.definitions import defs
from inventory_assets.defs.config import config_class
from inventory_assets.optimization.params import PlanParameters


@pytest.mark.parametrize("parameters_type", [PlanParameters, FeatureParameters, MergeParameters])
def test_every_knob_has_the_core_default_and_doc(parameters_type: type) -> None:
    config = config_class("C", parameters_type, doc="knobs")
    defaults = parameters_type()
    for field in dataclasses.fields(parameters_type):
        model_field = config.model_fields[field.name]
        default = getattr(defaults, field.name)
        assert model_field.default == (list(default) if isinstance(default, tuple) else default), field.name
        assert model_field.description == field.metadata["doc"] and len(field.metadata["doc"]) > 15, field.name
    assert config().parameters() == defaults


def test_tuples_travel_as_lists_and_come_back_as_tuples() -> None:
    config = config_class("C", PlanParameters, doc="knobs")
    params = config.model_validate({"critical_classes": ["A", "B"], "budget": 50.0}).parameters()
    assert params == PlanParameters(critical_classes=("A", "B"), budget=50.0)


def test_the_core_validation_still_refuses_bad_values() -> None:
    config = config_class("C", MergeParameters, doc="knobs")
    with pytest.raises(ValueError, match="min_receipts must be >= 1"):
        config.model_validate({"min_receipts": 0}).parameters()


def test_a_knob_without_a_description_is_refused() -> None:
    @dataclasses.dataclass(frozen=True)
    class Undocumented:
        size: int = 3

    with pytest.raises(ValueError, match="Undocumented.size has no description"):
        config_class("C", Undocumented, doc="knobs")


def test_the_assets_run_config_schema_shows_the_core_docs() -> None:
    job = defs().resolve_job_def("planning_job")
    schema = dg.validate_run_config(job, {})
    ops = schema["ops"]
    assert ops["procurement_plan"]["config"]["budget"] == PlanParameters().budget
    assert ops["merged_dataset"]["config"]["min_receipts"] == MergeParameters().min_receipts
    assert ops["abc_risk_features"]["config"]["service_level_a"] == FeatureParameters().service_level_a
