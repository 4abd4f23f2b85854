"""A run's whole config is checked when the run starts (issue 17, family 5): values the knobs' rules refuse
fail the run before any step, naming each asset or check and its knob; none is retried."""

from __future__ import annotations

import dagster as dg
import pytest

from inventory_assets.defs import constants
from inventory_assets.defs.config import ParametersConfig
from inventory_assets.defs.run_config import CONFIGURED, run_config_problems
from inventory_assets_tests.helpers import all_assets_and_checks, materialize, refused_at_run_start

ABSURD: dict[str, dict[str, object]] = {
    "procurement_plan": {"critical_classes": ["A", "Z"]},
    "demand_forecast": {"review_days": 1e9},
    "abc_risk_features": {"service_level_a": 1.5},
    "merged_dataset": {"default_lead_time_days": 1e7},
    f"sales_{constants.SALES_REFERENCES_CHECK}": {"max_unknown_sales_share": -1},
}
"""One refused value per configured op of the planning graph (an unknown class, absurd windows, a share below 0)."""


def test_refused_values_fail_the_run_before_any_step_naming_each_knob() -> None:
    run_config = {"ops": {op: {"config": values} for op, values in ABSURD.items()}}
    message = refused_at_run_start(materialize(run_config=run_config))  # nothing read, nothing planned
    for op, values in ABSURD.items():
        (knob,) = values
        assert f"{op}: " in message and knob in message, (op, message)
    assert "critical_classes must be among ['A', 'B', 'C'], got ['Z']" in message


def test_a_budget_below_zero_and_an_unknown_policy_are_named() -> None:
    problems = run_config_problems(
        {
            "ops": {
                "procurement_plan": {"config": {"budget": -5.0}},
                "policy_backtest": {"config": {"policies": ["plan", "guesswork"]}},
                "budget_frontier": {"config": {"review_period_days": 10**6}},
            }
        }
    )
    assert len(problems) == 3
    assert problems[0].startswith("procurement_plan: budget must be a finite number >= 0")
    assert problems[1].startswith("budget_frontier: review_period_days must be > 0 and at most 3660")
    assert problems[2].startswith("policy_backtest:") and "guesswork" in problems[2]


def test_good_values_pass_and_the_run_goes_on() -> None:
    assert run_config_problems({"ops": {"procurement_plan": {"config": {"budget": 5000.0}}}}) == []
    assert run_config_problems({}) == []


def test_every_op_configured_by_a_parameter_dataclass_is_checked() -> None:
    """An op whose config schema is one of the project's parameter configs is in `CONFIGURED`."""
    classes = {c for _, c in CONFIGURED}
    by_fields = {frozenset(c.model_fields): c for c in classes}
    assert all(issubclass(c, ParametersConfig) for c in classes)
    found = set()
    for definition in all_assets_and_checks():
        node = getattr(definition, "node_def", None)
        if node is None or not isinstance(node, dg.OpDefinition) or node.config_schema is None:
            continue
        config_type = node.config_schema.as_field().config_type
        if frozenset(getattr(config_type, "fields", {}) or {}) in by_fields:
            found.add(node.name)
    assert found == {d.node_def.name for d, _ in CONFIGURED}


@pytest.mark.parametrize("op", sorted(ABSURD))
def test_each_refusal_alone(op: str) -> None:
    problems = run_config_problems({"ops": {op: {"config": ABSURD[op]}}})
    assert len(problems) == 1 and problems[0].startswith(f"{op}: ")
