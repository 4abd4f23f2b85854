"""Run config made from the core's parameter dataclasses: one statement of each knob, and the environment
variables that set the knobs' defaults (`env_prefix`), listed in docs/operations.md."""

from __future__ import annotations

import dataclasses

import dagster as dg
import pytest

from inventory_assets.analytics.features import FeatureParameters
from inventory_assets.analytics.merge import MergeParameters
from inventory_assets.definitions import defs
from inventory_assets.defs.config import EnvironmentDefaultError, ParametersConfig, config_class, environment_table
from inventory_assets.defs.features.assets import FeatureConfig, ForecastConfig, MergeConfig
from inventory_assets.defs.planning.assets import PlanConfig
from inventory_assets.defs.sources.checks import PlausibilityConfig
from inventory_assets.forecast import ForecastParameters
from inventory_assets.optimization.params import PlanParameters
from inventory_assets_tests.helpers import PROJECT_ROOT

DOC_TABLE_START = (
    "<!-- environment_table(PlanConfig, FeatureConfig, ForecastConfig, MergeConfig, PlausibilityConfig): start -->"
)
DOC_TABLE_END = "<!-- environment_table: end -->"


@pytest.mark.parametrize("parameters_type", [PlanParameters, FeatureParameters, ForecastParameters, MergeParameters])
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


# --- defaults from the environment (env_prefix) --------------------------------------------------------


def _plan_config(**environ: str) -> type[ParametersConfig]:
    return config_class("C", PlanParameters, doc="knobs", env_prefix="X_PLAN_", environ=environ)


def test_each_knobs_default_comes_from_its_variable_parsed_into_its_type() -> None:
    config = _plan_config(
        X_PLAN_BUDGET=" 54321 ",
        X_PLAN_CRITICAL_CLASSES="A, B",
        X_PLAN_REVIEW_PERIOD_DAYS="7.5",
        X_PLAN_THREADS="2",
        X_PLAN_RELAX_INTEGRALITY="true",
        X_PLAN_MIP_MAX_ROWS="null",
    )
    assert config().parameters() == PlanParameters(
        budget=54321.0,
        critical_classes=("A", "B"),
        review_period_days=7.5,
        threads=2,
        relax_integrality=True,
        mip_max_rows=None,
    )
    assert config.environment_defaults["budget"] == " 54321 "
    assert config.model_validate({"budget": 10.0}).parameters().budget == 10.0  # a run's config still wins
    for field in dataclasses.fields(PlanParameters):
        variable = f"X_PLAN_{field.name.upper()}"
        assert variable in (config.model_fields[field.name].description or ""), field.name


def test_unset_or_empty_variables_keep_the_core_default_and_lists_take_json() -> None:
    assert _plan_config()().parameters() == PlanParameters()
    assert _plan_config(X_PLAN_BUDGET="", X_PLAN_THREADS="  ")().parameters() == PlanParameters()
    assert _plan_config(X_PLAN_CRITICAL_CLASSES="[]")().parameters().critical_classes == ()
    assert _plan_config(X_PLAN_CRITICAL_CLASSES='["A", "C"]')().parameters().critical_classes == ("A", "C")


@pytest.mark.parametrize(
    ("variable", "text", "message"),
    [
        ("X_PLAN_BUDGET", "a lot", "X_PLAN_BUDGET='a lot': expected a number"),
        ("X_PLAN_BUDGET", "null", "X_PLAN_BUDGET='null': expected a number .this knob cannot be null"),
        ("X_PLAN_THREADS", "1.5", "X_PLAN_THREADS='1.5': expected a whole number"),
        ("X_PLAN_RELAX_INTEGRALITY", "maybe", "X_PLAN_RELAX_INTEGRALITY='maybe': expected true or false"),
        ("X_PLAN_MIP_MAX_ROWS", "many", "X_PLAN_MIP_MAX_ROWS='many': expected a whole number or null"),
        ("X_PLAN_CRITICAL_CLASSES", "[A", "expected a comma-separated list of text values"),
        ("X_PLAN_BUDGET", "-5", "X_PLAN_BUDGET='-5': refused by PlanParameters: budget must be a finite number"),
        ("X_PLAN_BUDGET", "inf", "X_PLAN_BUDGET='inf': refused by PlanParameters"),
        ("X_PLAN_MIP_REL_GAP", "1", "X_PLAN_MIP_REL_GAP='1': refused by PlanParameters: mip_rel_gap"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable_and_the_type(variable: str, text: str, message: str) -> None:
    with pytest.raises(EnvironmentDefaultError, match=message):
        _plan_config(**{variable: text})


def test_the_assets_read_their_prefixes() -> None:
    assert (PlanConfig.env_prefix, FeatureConfig.env_prefix, MergeConfig.env_prefix) == (
        "INVENTORY_PLAN_",
        "INVENTORY_FEATURES_",
        "INVENTORY_MERGE_",
    )
    assert "INVENTORY_PLAN_BUDGET" in (PlanConfig.model_fields["budget"].description or "")


def test_the_operations_doc_lists_every_variable_as_generated() -> None:
    """docs/operations.md holds ``environment_table`` of the configs between its two markers."""
    text = (PROJECT_ROOT / "docs" / "operations.md").read_text()
    start, end = text.index(DOC_TABLE_START) + len(DOC_TABLE_START), text.index(DOC_TABLE_END)
    expected = environment_table([PlanConfig, FeatureConfig, ForecastConfig, MergeConfig, PlausibilityConfig])
    assert text[start:end].strip() == expected.strip(), f"replace the table in docs/operations.md with:\n{expected}"
