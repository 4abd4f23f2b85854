"""The graph benchmark (benchmarks/graph_benchmark.py): its report (the same-shape series and its log-log
slopes) and the arguments it refuses."""

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest

from inventory_assets.demo.data import PRESETS

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "graph_benchmark.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("graph_benchmark", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # where its dataclasses look up their module while being defined
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


def _result(bench, pairs: int, seconds: dict[str, float], wall: float, products: int) -> dict:
    steps = {name: {"seconds": seconds.get(name)} for name in bench.STEPS}
    steps["merged_dataset"]["rows_out"] = pairs
    return {"size": "large", "products": products, "graph": {"wall_seconds": wall, "steps": steps}}


def test_a_point_keeps_the_presets_shape_with_other_products(bench):
    spec = bench.demo_spec("large", 25_000)
    assert spec == PRESETS["large"].replace(products=25_000)
    assert (spec.dcs, spec.stores, spec.days) == (PRESETS["large"].dcs, PRESETS["large"].stores, 90)
    assert bench.demo_spec("large") == PRESETS["large"]


def test_series_is_read_in_pair_order_and_its_slopes_are_the_log_log_exponents(bench, tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "RESULTS", tmp_path)
    # sales linear (slope 1), receipts quadratic (slope 2), the wall constant (slope 0); one step missing.
    points = {
        1_000_000: "graph_large_sqlite.json",
        250_000: "graph_large_25000p_sqlite.json",
        500_000: "graph_large_50000p_sqlite.json",
    }
    for pairs, name in points.items():
        k = pairs / 250_000
        seconds = {"sales": 2.0 * k, "receipts": 0.5 * k * k}
        (tmp_path / name).write_text(json.dumps(_result(bench, pairs, seconds, 10.0, pairs // 10)))
    (tmp_path / "graph_medium_sqlite.json").write_text(json.dumps(_result(bench, 7, {}, 1.0, 1)))  # another shape

    series = bench.load_series()
    assert list(series) == ["250,000 pairs", "500,000 pairs", "1,000,000 pairs"]
    table = {
        line.split(" | ")[0].lstrip("| "): line.strip("| ").split(" | ")[1:]
        for line in bench.series_report(series).splitlines()[2:]
    }
    # seconds at 250,000, 500,000 and 1,000,000 pairs; slopes of both doublings, then of the whole range
    assert table["sales"] == ["2.00", "4.00", "8.00", "1.00", "1.00", "1.00"]
    assert table["receipts"] == ["0.50", "2.00", "8.00", "2.00", "2.00", "2.00"]
    assert table["inventory"] == ["-"] * 6
    assert table["(graph wall)"][-3:] == ["0.00", "0.00", "0.00"]
    # n log n, by hand: 250,000 -> 500,000 pairs: ln(2 * 13.1224 / 12.4292) / ln 2 = ln 2.1115 / 0.6931 = 1.078;
    # 500,000 -> 1,000,000: ln(2 * 13.8155 / 13.1224) / ln 2 = 1.074; the whole range: ln(4 * 13.8155 /
    # 12.4292) / ln 4 = ln 4.4462 / 1.3863 = 1.076
    assert table["n log n"][-3:] == ["1.08", "1.07", "1.08"]
    assert abs(math.log(2 * math.log(500_000) / math.log(250_000)) / math.log(2) - 1.078) < 5e-4


def test_the_series_curve_is_drawn_with_every_point(bench, tmp_path):
    series = {f"{n:,} pairs": _result(bench, n, {"sales": n / 1e5}, n / 5e4, n // 10) for n in (250_000, 1_000_000)}
    path = tmp_path / "series.svg"
    bench.svg_curve(series, path, title="The large shape", reference="the first point")
    svg = path.read_text()
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "The large shape (log-log; dashed: n log n through the first point)" in svg
    assert svg.count("<circle") == 4  # sales and the wall, two points each


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--keep-database", "bench"], "--keep-database needs --backend postgresql or mariadb"),
        (["--backend", "mariadb", "--keep-database", "bench`; DROP"], "is not a plain database name"),
        (["--backend", "postgresql", "--generate-only"], "--generate-only on a database server needs --keep-database"),
    ],
)
def test_arguments_that_cannot_work_are_refused_before_any_database_is_touched(bench, argv, message, capsys):
    with pytest.raises(SystemExit) as refused:
        bench.main(argv)
    assert refused.value.code == 2
    assert message in capsys.readouterr().err
