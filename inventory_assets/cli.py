"""The ``inventory-assets`` console command.

``inventory-assets demo-data`` writes demo source tables into the databases that
``INVENTORY_CLOUD_DB_URL`` (``sales``) and ``INVENTORY_ONPREM_DB_URL`` (``locations``, ``inventory``,
``costs``, ``receipts``) name. Exit codes: 0 done, 1 a database or other failure, 2 a usage error or
target tables that exist without ``--replace``.

``inventory-assets backtest`` reads and validates the five sources from the same two databases, replays
each policy over the held-out weeks (``inventory_assets.backtest``), prints the policies side by side
and writes the results to ``INVENTORY_PLAN_DB_URL`` (docs/backtest.md). Exit codes: 0 done, 1 a database
failure or sources that fail validation, 2 a usage error or options the data cannot serve (too many
held-out weeks, a feature window too short, no sales in the held-out period).

``inventory-assets export-plan`` reads a committed run's purchase and transfer orders back from
``INVENTORY_PLAN_DB_URL`` and writes ``purchase_orders.csv``, ``transfer_orders.csv`` and ``orders.xlsx``
under ``<folder>/<run id>/`` (folder: ``--out``, else ``INVENTORY_EXPORT_DIR``, else ``data/exports``;
docs/operations.md). Exit codes: 0 done, 1 a database failure or files that cannot be written, 2 a usage
error or a run that has not committed a plan (``latest`` with none committed yet).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
import uuid
from collections.abc import Sequence
from typing import TextIO

from inventory_assets.io import db

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

_SIZES = ("small", "medium", "large")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not positive")
    return value


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def _non_negative_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"{text} is not a finite number >= 0")
    return value


def _names(text: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    if not names:
        raise argparse.ArgumentTypeError("no policy named")
    return names


def _targets_help() -> str:
    cloud = db.mask_url(db.DEFAULT_URLS[db.CLOUD_URL_VAR])
    onprem = db.mask_url(db.DEFAULT_URLS[db.ONPREM_URL_VAR])
    return (
        f"Target databases: {db.CLOUD_URL_VAR} receives `sales` (default when unset: {cloud}); "
        f"{db.ONPREM_URL_VAR} receives `locations`, `inventory`, `costs`, `receipts` (default when unset: "
        f"{onprem}). Each is a SQLAlchemy URL: sqlite:///..., postgresql+psycopg://..., mysql+pymysql://..."
    )


def _parser() -> argparse.ArgumentParser:
    from inventory_assets.demo.data import PRESETS

    parser = argparse.ArgumentParser(
        prog="inventory-assets",
        description="Inventory optimisation on Dagster: command-line tools.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    sizes = "; ".join(
        f"{name}: {s.products:,} products, {s.dcs} DC(s) + {s.stores} stores, {s.days} days"
        for name, s in PRESETS.items()
    )
    demo = commands.add_parser(
        "demo-data",
        help="write demo source tables (sales, locations, inventory, costs, receipts) into the configured databases",
        description=(
            "Generate a realistic demo retailer (fast movers and a long tail of intermittent items, weekly "
            "seasonality, perishables, case packs, supplier lead times, DCs feeding stores) and write the "
            "contract's source tables. " + _targets_help()
        ),
        epilog=f"Presets: {sizes}. Exit codes: 0 done, 1 failure, 2 usage error or tables exist without --replace.",
    )
    demo.add_argument(
        "--size",
        choices=_SIZES,
        default=None,
        help=(
            "preset size (default small); --products/--dcs/--stores/--days override single fields. "
            f"Written to the databases named by {db.CLOUD_URL_VAR} and {db.ONPREM_URL_VAR}"
        ),
    )
    demo.add_argument("--products", type=_positive, metavar="N", help="number of products (overrides the preset)")
    demo.add_argument(
        "--dcs", type=_positive, metavar="N", help="number of distribution centres, echelon 0 (overrides the preset)"
    )
    demo.add_argument(
        "--stores", type=_positive, metavar="N", help="number of stores, echelon 1, each fed by a DC (overrides preset)"
    )
    demo.add_argument(
        "--days", type=_positive, metavar="N", help="days of sales history up to the end date (overrides the preset)"
    )
    demo.add_argument(
        "--seed", type=_non_negative, metavar="N", help="random seed; the same seed gives the same data (default 42)"
    )
    demo.add_argument(
        "--replace",
        action="store_true",
        help=(
            "drop and recreate the target tables if they exist (without it the command refuses, exit code 2). "
            f"Targets: `sales` in {db.CLOUD_URL_VAR} (default {db.mask_url(db.DEFAULT_URLS[db.CLOUD_URL_VAR])}), "
            f"the other four in {db.ONPREM_URL_VAR} (default {db.mask_url(db.DEFAULT_URLS[db.ONPREM_URL_VAR])})"
        ),
    )
    demo.add_argument("--quiet", action="store_true", help="print only errors and the final summary, no progress")
    demo.set_defaults(handler=_demo_data)
    _add_backtest(commands)
    _add_export_plan(commands)
    _add_summary(commands)
    return parser


def _add_summary(commands: argparse._SubParsersAction) -> None:
    summary = commands.add_parser(
        "summary",
        help="print the plan in use, how the latest planning run went, the largest orders and the exports",
        description=(
            "The plan in use from the plan database (run id, time, spend against budget, rows at stock-out risk "
            "before and after, the five largest purchases and transfers), the latest planning run in the "
            "Dagster instance of DAGSTER_HOME (failed steps, failed checks, checks not run) and the paths of "
            "the exports. Exit code 1 when the latest planning run did not succeed."
        ),
    )
    summary.set_defaults(handler=_summary)


def _summary(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from inventory_assets.summary import print_summary

    try:
        return print_summary(out)
    except db.DatabaseError as error:
        print(f"inventory-assets summary: failed: {error}", file=err)
        return EXIT_FAILED


def _add_export_plan(commands: argparse._SubParsersAction) -> None:
    from inventory_assets.io import plan_export

    plan_url = db.mask_url(db.DEFAULT_URLS[db.PLAN_URL_VAR])
    export = commands.add_parser(
        "export-plan",
        help="write a committed plan's purchase and transfer orders as CSV files and an XLSX workbook",
        description=(
            "Read the purchase and transfer orders of a committed plan run back from the plan database "
            f"({db.PLAN_URL_VAR}, default when unset: {plan_url}) and write purchase_orders.csv, "
            "transfer_orders.csv and orders.xlsx (a sheet with every purchase and every transfer, then a sheet "
            "per supplier and per destination, each with a totals row) under <folder>/<run id>/. "
            "Exporting a run again replaces its files. docs/operations.md"
        ),
        epilog=(
            "Exit codes: 0 done, 1 a database failure or files that cannot be written, 2 a usage error or a run "
            "that has not committed a plan (latest when none has committed yet)."
        ),
    )
    export.add_argument(
        "--run",
        default="latest",
        metavar="latest|RUN_ID",
        help="the run to export: latest (default) is the current plan's run (the newest committed); else a "
        "Dagster run id that committed a plan (procurement_plan_runs.run_id)",
    )
    export.add_argument(
        "--format",
        choices=plan_export.FORMATS,
        action="append",
        dest="formats",
        help="csv (one file per list) or xlsx (one workbook); repeat for both (default: both)",
    )
    export.add_argument(
        "--out",
        metavar="DIR",
        help=f"folder the run's subfolder is written under (default: {plan_export.EXPORT_DIR_VAR} when set, else "
        f"{plan_export.DEFAULT_EXPORT_DIR})",
    )
    export.set_defaults(handler=_export_plan)


def _export_plan(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from pathlib import Path

    from inventory_assets.io import plan_export, plan_store

    name = "inventory-assets export-plan"
    url = db.url_from_env(db.PLAN_URL_VAR)
    root = Path(args.out).expanduser() if args.out else plan_export.export_root()
    formats = tuple(dict.fromkeys(args.formats or plan_export.FORMATS))
    print(f"export-plan: run {args.run} from {db.PLAN_URL_VAR} {db.mask_url(url)}", file=out, flush=True)
    try:
        result = plan_export.export_plan(url, args.run, root=root, formats=formats)
    except plan_store.RunNotFoundError as error:
        print(f"{name}: error: {error}", file=err)
        return EXIT_USAGE
    except db.DatabaseError as error:
        print(f"{name}: failed: {error}", file=err)
        return EXIT_FAILED
    except OSError as error:
        print(f"{name}: failed: cannot write the files: {error}", file=err)
        return EXIT_FAILED
    except Exception as error:
        print(f"{name}: failed: {db.scrub(f'{type(error).__name__}: {error}', url)}", file=err)
        return EXIT_FAILED
    rows = result.rows
    print(
        f"run {result.run_id}: {rows[plan_store.PURCHASE_ORDERS_TABLE]:,} purchase(s), "
        f"{rows[plan_store.TRANSFER_ORDERS_TABLE]:,} transfer(s)",
        file=out,
    )
    for path in result.files.values():
        print(f"  {path}", file=out)
    out.flush()
    return EXIT_OK


def _add_backtest(commands: argparse._SubParsersAction) -> None:
    from inventory_assets.backtest import DEFAULT_POLICIES, POLICIES, BacktestSettings
    from inventory_assets.forecast import FORECAST_METHODS

    defaults = BacktestSettings()
    plan_url = db.mask_url(db.DEFAULT_URLS[db.PLAN_URL_VAR])
    backtest = commands.add_parser(
        "backtest",
        help="replay each policy over the last weeks of sales and compare fill rate, stock, waste and spend",
        description=(
            "Hold out the last weeks of recorded sales and replay each replenishment policy over them side by "
            "side (the same demand and lead-time draws for every policy; at each weekly review a policy sees "
            "only the history before that day). Prints the policies' totals (fill rate, cycle service level, "
            "lost value, mean inventory value, waste value, spend, orders) and writes backtest_runs, "
            f"backtest_results and backtest_weekly to {db.PLAN_URL_VAR} (default when unset: {plan_url}). "
            f"Sources: `sales` from {db.CLOUD_URL_VAR}, the other four from {db.ONPREM_URL_VAR}, validated "
            "as the planning job validates them. docs/backtest.md"
        ),
        epilog=(
            "Exit codes: 0 done, 1 a database failure or sources that fail validation (every failure listed), "
            "2 a usage error or options the data cannot serve (e.g. more held-out weeks than the history allows)."
        ),
    )
    backtest.add_argument(
        "--weeks",
        type=_positive,
        default=defaults.weeks,
        metavar="N",
        help=f"held-out weeks: the last 7 x N days of sales are replayed (default {defaults.weeks})",
    )
    backtest.add_argument(
        "--policies",
        type=_names,
        default=DEFAULT_POLICIES,
        metavar="P1,P2,...",
        help=f"comma-separated policies to compare, among {', '.join(POLICIES)} (default: all of them)",
    )
    backtest.add_argument(
        "--budget",
        type=_non_negative_number,
        default=defaults.budget,
        metavar="X",
        help="money for supplier purchases at each weekly review, for plan and risk_ranked "
        f"(default {defaults.budget:,.0f})",
    )
    backtest.add_argument(
        "--seed",
        type=_non_negative,
        default=defaults.seed,
        metavar="S",
        help=f"seed of the lead-time draws; the same seed gives the same numbers (default {defaults.seed})",
    )
    backtest.add_argument(
        "--history-days",
        type=_positive,
        default=defaults.history_days,
        metavar="N",
        help="days of sales the features see at each review (default: up to 90, what the data holds before the "
        "held-out weeks)",
    )
    backtest.add_argument(
        "--forecast-method",
        choices=FORECAST_METHODS,
        default=defaults.forecast_method,
        help="demand forecast at each review: auto, the model chosen per series by rolling-origin evaluation, or "
        f"window_mean, the window's mean and standard deviation (default {defaults.forecast_method})",
    )
    backtest.set_defaults(handler=_backtest)


def _demo_data(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from inventory_assets.demo import data as demo_data

    try:
        spec = demo_data.PRESETS[args.size or "small"].replace(
            products=args.products, dcs=args.dcs, stores=args.stores, days=args.days, seed=args.seed
        )
    except ValueError as error:
        print(f"inventory-assets demo-data: error: {error}", file=err)
        return EXIT_USAGE
    cloud_url = db.url_from_env(db.CLOUD_URL_VAR)
    onprem_url = db.url_from_env(db.ONPREM_URL_VAR)
    started = time.perf_counter()

    def progress(message: str) -> None:
        if not args.quiet:
            print(f"[{time.perf_counter() - started:7.1f} s] {message}", file=out, flush=True)

    print(
        f"demo data: {spec.products:,} products, {spec.dcs} DC(s), {spec.stores} stores, {spec.days} days "
        f"ending {spec.end_date:%Y-%m-%d}, seed {spec.seed}",
        file=out,
    )
    print(f"  {db.CLOUD_URL_VAR} (sales): {db.mask_url(cloud_url)}", file=out)
    print(
        f"  {db.ONPREM_URL_VAR} (locations, inventory, costs, receipts): {db.mask_url(onprem_url)}",
        file=out,
        flush=True,
    )
    try:
        counts = demo_data.build(spec, cloud_url, onprem_url, replace=args.replace, progress=progress)
    except demo_data.TablesExistError as error:
        print(f"inventory-assets demo-data: refused: {error}", file=err)
        return EXIT_USAGE
    except db.DatabaseError as error:
        print(f"inventory-assets demo-data: failed: {error}", file=err)
        return EXIT_FAILED
    except Exception as error:
        urls = (cloud_url, onprem_url)
        message = f"{type(error).__name__}: {error}"
        for url in urls:
            message = db.scrub(message, url)
        print(f"inventory-assets demo-data: failed: {message}", file=err)
        return EXIT_FAILED
    seconds = time.perf_counter() - started
    print(f"done in {seconds:.1f} s:", file=out)
    width = max(len(name) for name in counts)
    for name, rows in counts.items():
        print(f"  {name:<{width}} {rows:>12,} rows", file=out)
    out.flush()
    return EXIT_OK


def _backtest(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from inventory_assets.backtest import (
        BacktestInputError,
        BacktestSettings,
        comparison,
        format_comparison,
        run_backtest,
        sales_days_needed,
    )
    from inventory_assets.io import backtest_sources, backtest_store

    name = "inventory-assets backtest"
    try:
        settings = BacktestSettings(
            policies=args.policies,
            weeks=args.weeks,
            budget=args.budget,
            seed=args.seed,
            history_days=args.history_days,
            forecast_method=args.forecast_method,
        )
        params = settings.parameters()
    except ValueError as error:
        print(f"{name}: error: {error}", file=err)
        return EXIT_USAGE
    urls = {var: db.url_from_env(var) for var in (db.CLOUD_URL_VAR, db.ONPREM_URL_VAR, db.PLAN_URL_VAR)}
    print(
        f"backtest: {', '.join(settings.policies)}; {settings.weeks} held-out week(s), budget "
        f"{settings.budget:,.0f} per review, seed {settings.seed}, forecast {settings.forecast_method}",
        file=out,
    )
    for var, what in ((db.CLOUD_URL_VAR, "sales"), (db.ONPREM_URL_VAR, "other sources"), (db.PLAN_URL_VAR, "results")):
        print(f"  {var} ({what}): {db.mask_url(urls[var])}", file=out)
    out.flush()
    started = time.perf_counter()
    backtest_id = str(uuid.uuid4())
    try:
        sources = backtest_sources.read_backtest_sources(
            db.make_engine(urls[db.CLOUD_URL_VAR]), db.make_engine(urls[db.ONPREM_URL_VAR]), sales_days_needed(params)
        )
        result = run_backtest(**sources.frames, params=params, policies=settings.policies)
        seconds = time.perf_counter() - started
        run = {**result.run, "seconds": seconds, "settings": dataclasses.asdict(settings), "source": "cli"}
        written = backtest_store.write_backtest(urls[db.PLAN_URL_VAR], backtest_id, run, result.results, result.weekly)
    except backtest_sources.BacktestSourcesError as error:
        print(f"{name}: failed: {error}", file=err)
        return EXIT_FAILED
    except BacktestInputError as error:
        print(f"{name}: error: {error}", file=err)
        return EXIT_USAGE
    except db.DatabaseError as error:
        print(f"{name}: failed: {error}", file=err)
        return EXIT_FAILED
    except Exception as error:
        message = f"{type(error).__name__}: {error}"
        for url in urls.values():
            message = db.scrub(message, url)
        print(f"{name}: failed: {message}", file=err)
        return EXIT_FAILED
    run_facts = result.run
    print(
        f"sales {run_facts['data_start']} .. {run_facts['data_end']}; held out {run_facts['held_out_start']} .. "
        f"{run_facts['held_out_end']} ({len(run_facts['review_dates'])} reviews, features over "
        f"{run_facts['history_days']} days); {run_facts['pairs']:,} pairs; {seconds:.1f} s",
        file=out,
    )
    print("", file=out)
    print(format_comparison(comparison(result.results)), file=out)
    print("", file=out)
    print(
        f"written: backtest {written.backtest_id} ({written.result_rows} rows in backtest_results, "
        f"{written.weekly_rows} in backtest_weekly, one in backtest_runs) to {db.mask_url(urls[db.PLAN_URL_VAR])}",
        file=out,
    )
    out.flush()
    return EXIT_OK


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run the command line; return the exit code (the console script exits with it)."""
    out = out or sys.stdout
    err = err or sys.stderr
    args = _parser().parse_args(list(argv) if argv is not None else None)
    return args.handler(args, out, err)


if __name__ == "__main__":  # python -m inventory_assets.cli
    sys.exit(main())
