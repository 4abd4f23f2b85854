"""The whole graph, materialized through Dagster as a user would, timed per step: ``make bench SIZE=...``.

    .venv/bin/python benchmarks/graph_benchmark.py --size small|medium|large [--backend sqlite|postgresql|mariadb]
    .venv/bin/python benchmarks/graph_benchmark.py --size large --products 25000     # a same-shape point
    .venv/bin/python benchmarks/graph_benchmark.py --report    # the tables and curves from the results

What one run does (docs/scaling-benchmarks.md shows the results):

1. Demo data of the preset (``inventory_assets.demo.data.PRESETS``) into databases: SQLite files in
   the work dir (``--workdir``, default ``/tmp/inventory_assets_bench/<size>_<backend>``; reused when the
   same spec was generated there before, unless ``--regenerate``), or, with ``--backend postgresql`` or
   ``mariadb``, one scratch database for all three URLs, created on ``--pg-url`` (default
   ``postgresql+psycopg://postgres@127.0.0.1:5432/test``) or ``--mariadb-url`` (default
   ``mysql+pymysql://root@127.0.0.1:3306/test``; utf8mb4) and dropped afterwards. ``--keep-database NAME``
   uses database NAME instead and keeps it: when it holds the demo data of the same spec (its
   ``benchmark_generation`` table says so) that is reused, plan history and all, else it is created afresh
   and generated. Generation is timed separately; it is not part of the graph.
2. A fresh ``DAGSTER_HOME`` (a copy of the project's ``dagster.yaml``), then
   ``dagster asset materialize -m inventory_assets --select 'not group:evaluation and not key:budget_frontier'``
   (the planning graph, as planning_job)
   as a subprocess (the definitions' in-process executor), with run config where asked (``--relax yes|no``
   forces the plan's LP relaxation or the exact MIP, default: the plan's own rule; ``--day-ranges N`` reads
   sales in N day ranges). The subprocess tree's resident memory (``/proc``) is sampled every 50 ms.
3. The run's event log from the instance: per step STEP_START..STEP_SUCCESS seconds, the peak memory
   sampled within each step, each materialization's ``dagster/row_count`` (rows out; rows in = the
   upstream assets' rows, or the database rows read), the plan's model size and solver/build seconds;
   and what the run left in the instance's storage (values and compute logs, MB). With
   ``--compare-formats``, each stored value written and read back as a protocol-4 pickle (what Dagster's
   filesystem IO manager wrote) and as ``io/value_store.py`` Parquet, seconds and MB side by side.
4. Side by side on the same databases: the sales aggregation pushed down to the database
   (``queries.read_sales``, GROUP BY in SQL) vs reading the raw sale lines into pandas
   (``pandas.read_sql``) and aggregating there; each in its own subprocess, seconds and peak memory
   (``--no-pushdown`` skips it).

JSON goes to ``benchmarks/results/graph_<size>_<backend><--label>.json`` (date, git commit, machine, versions;
on PostgreSQL and MariaDB the server's version too), or to ``--output``.

``--products N`` keeps the preset's shape (locations, days of history) with N products instead: the points
of a same-shape series (``graph_<size>_<N>p_<backend>.json``). The presets differ in shape (medium has 22
locations and 180 days, large 10 and 90), so only such a series shows how each step grows with the
product-locations alone; ``--report`` prints it with the log-log slope between points and draws
``docs/scaling-series.svg``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import dagster as dg
    import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MARIADB_URL = "mysql+pymysql://root@127.0.0.1:3306/test"
STEPS = [
    "sales",
    "inventory",
    "costs",
    "locations",
    "receipts",
    "merged_dataset",
    "demand_forecast",
    "abc_risk_features",
    "procurement_plan",
    "order_lists_assets",
    "published_plan",
]
UPSTREAM = {
    "merged_dataset": ["sales", "inventory", "costs", "locations", "receipts"],
    "abc_risk_features": ["merged_dataset"],
    "procurement_plan": ["abc_risk_features"],
    "published_plan": ["procurement_plan"],
}
PLAN_FIGURES = [
    "status",
    "solver",
    "n_variables",
    "n_constraints",
    "n_integer",
    "build_seconds",
    "solve_seconds",
    "extract_seconds",
    "mip_gap",
    "objective",
    "spend",
    "budget",
    "n_orders",
]
PAGE = os.sysconf("SC_PAGE_SIZE")


# --- memory of a process tree (/proc; psutil is not a dependency) ---------------------------------------


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out.extend(int(c) for c in f.read().split())
    except OSError:
        pass
    return out


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE
    except OSError:
        return 0


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        total += _rss(p)
        stack.extend(_children(p))
    return total


class Sampler(threading.Thread):
    """Samples the RSS of a process tree every ``interval`` seconds: (epoch seconds, bytes)."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, int]] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            self.samples.append((time.time(), tree_rss(self.pid)))
            self.stopped.wait(self.interval)

    def peak(self, start: float | None = None, end: float | None = None) -> int:
        values = [b for t, b in self.samples if (start is None or t >= start) and (end is None or t <= end)]
        return max(values, default=0)


# --- the machine and the code --------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    from importlib import metadata

    versions: dict[str, str | None] = {}
    for name in (
        "dagster",
        "pandas",
        "numpy",
        "pandera",
        "pyomo",
        "highspy",
        "sqlalchemy",
        "psycopg",
        "pymysql",
        "scipy",
    ):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    sqlite_version = __import__("sqlite3").sqlite_version
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu,
        "ram_gb": round(mem_kb / 1024**2, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite_version,
        "packages": versions,
    }


def git_commit() -> dict[str, Any]:
    def run(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    return {"commit": run("rev-parse", "HEAD"), "dirty": bool(run("status", "--porcelain", "--", "inventory_assets"))}


# --- databases ----------------------------------------------------------------------------------------


def demo_spec(size: str, products: int | None = None) -> Any:
    """The preset ``size``, with ``products`` products instead of its own when given (same shape)."""
    from inventory_assets.demo.data import PRESETS

    return PRESETS[size].replace(products=products)


def prepare_sqlite(spec: Any, workdir: Path, regenerate: bool) -> tuple[dict[str, str], dict[str, Any]]:
    urls = {
        "INVENTORY_CLOUD_DB_URL": f"sqlite:///{workdir / 'cloud.db'}",
        "INVENTORY_ONPREM_DB_URL": f"sqlite:///{workdir / 'onprem.db'}",
        "INVENTORY_PLAN_DB_URL": f"sqlite:///{workdir / 'plan.db'}",
    }
    marker = workdir / "generated.json"
    if not regenerate and marker.exists():
        info = json.loads(marker.read_text())
        if info.get("spec") == repr(spec):
            print(f"reusing the demo data in {workdir} (generated before in {info['seconds']} s)")
            info["reused"] = True
            (workdir / "plan.db").unlink(missing_ok=True)
            return urls, info
    workdir.mkdir(parents=True, exist_ok=True)
    for name in ("cloud.db", "onprem.db", "plan.db", "generated.json"):
        (workdir / name).unlink(missing_ok=True)
    info = generate(spec, urls)
    marker.write_text(json.dumps(info))
    return urls, info


def generate(spec: Any, urls: dict[str, str]) -> dict[str, Any]:
    from inventory_assets.demo.data import build

    print(f"generating the demo data {spec} ...", flush=True)
    started = time.perf_counter()
    rows = build(
        spec,
        urls["INVENTORY_CLOUD_DB_URL"],
        urls["INVENTORY_ONPREM_DB_URL"],
        replace=True,
        progress=lambda m: print(f"  {m}", flush=True),
    )
    return {"spec": repr(spec), "rows": rows, "seconds": round(time.perf_counter() - started, 2), "reused": False}


GENERATION_TABLE = "benchmark_generation"
"""The table in a server database that records the demo data generated into it: one row, the JSON of
`generate`'s report (its ``spec`` the preset's repr), written after the data. A ``--keep-database``
database whose row names the same spec is reused; the table also marks the database as this benchmark's."""
DATABASE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
"""Database names this benchmark creates or keeps: they are formatted into SQL, so plain identifiers only
(at most 63 characters, PostgreSQL's limit)."""


@dataclass(frozen=True)
class Server:
    """The SQL by which the benchmark creates, finds and drops a database on a server backend, run on its
    base URL (``--pg-url``, ``--mariadb-url``) outside any transaction."""

    quote: str
    create_options: str
    drop_options: str
    exists_sql: str
    """One row when database ``:name`` exists."""

    def _execute(self, base_url: str, *statements: str) -> None:
        with _engine(base_url, isolation_level="AUTOCOMMIT") as engine, engine.connect() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)

    def create(self, base_url: str, name: str) -> None:
        """Database ``name`` created empty (dropped first if it exists)."""
        quoted = f"{self.quote}{name}{self.quote}"
        self._execute(
            base_url,
            f"DROP DATABASE IF EXISTS {quoted}{self.drop_options}",
            f"CREATE DATABASE {quoted}{self.create_options}",
        )

    def drop(self, base_url: str, name: str) -> None:
        self._execute(base_url, f"DROP DATABASE IF EXISTS {self.quote}{name}{self.quote}{self.drop_options}")

    def exists(self, base_url: str, name: str) -> bool:
        import sqlalchemy as sa

        with _engine(base_url) as engine, engine.connect() as conn:
            return conn.execute(sa.text(self.exists_sql), {"name": name}).first() is not None


SERVERS = {
    "postgresql": Server(
        quote='"',
        create_options="",
        drop_options=" WITH (FORCE)",  # ends the sessions still connected
        exists_sql="SELECT 1 FROM pg_database WHERE datname = :name",
    ),
    "mariadb": Server(
        quote="`",
        create_options=" CHARACTER SET utf8mb4",  # the tables name their collation (utf8mb4_bin) themselves
        drop_options="",
        exists_sql="SELECT 1 FROM information_schema.schemata WHERE schema_name = :name",
    ),
}
"""The server backends of ``--backend``."""


@contextmanager
def _engine(url: str, **options: Any) -> Iterator[sa.Engine]:
    """An engine of its own for a few statements, disposed afterwards."""
    import sqlalchemy as sa

    engine = sa.create_engine(url, **options)
    try:
        yield engine
    finally:
        engine.dispose()


def database_url(base_url: str, name: str) -> str:
    """``base_url`` with database ``name`` (the same user, password and options)."""
    import sqlalchemy as sa

    return sa.make_url(base_url).set(database=name).render_as_string(hide_password=False)


def recorded_generation(url: str) -> tuple[list[str], dict[str, Any] | None]:
    """The tables of the database at ``url``, and the generation recorded in `GENERATION_TABLE` (None when
    none is)."""
    import sqlalchemy as sa

    with _engine(url) as engine:
        tables = sa.inspect(engine).get_table_names()
        if GENERATION_TABLE not in tables:
            return tables, None
        with engine.connect() as conn:
            recorded = conn.exec_driver_sql(f"SELECT generation FROM {GENERATION_TABLE}").scalar()
    return tables, json.loads(recorded) if recorded else None


def record_generation(url: str, generation: dict[str, Any] | None) -> None:
    """`GENERATION_TABLE` in the database at ``url`` holding ``generation`` (created if missing; empty when
    ``generation`` is None: the data is being generated)."""
    import sqlalchemy as sa

    table = sa.Table(GENERATION_TABLE, sa.MetaData(), sa.Column("generation", sa.Text, nullable=False))
    with _engine(url) as engine:
        table.create(engine, checkfirst=True)
        with engine.begin() as conn:
            conn.execute(table.delete())
            if generation is not None:
                conn.execute(table.insert(), {"generation": json.dumps(generation)})


def prepare_server(
    backend: str, base_url: str, name: str, spec: Any, keep: bool
) -> tuple[dict[str, str], dict[str, Any]]:
    """The three URLs, all on database ``name`` of the server at ``base_url``, and the generation report.

    Without ``keep``, ``name`` is created afresh and the demo data generated into it. With ``keep``, a
    database ``name`` that holds the demo data of ``spec`` already is reused as it is (its plan history
    included); otherwise it is created afresh and generated, unless it holds tables this benchmark did not
    make (no `GENERATION_TABLE`): those are never dropped.
    """
    from inventory_assets.io import db

    server, url = SERVERS[backend], database_url(base_url, name)
    urls = dict.fromkeys(db.DEFAULT_URLS, url)  # the three URL variables
    if keep and server.exists(base_url, name):
        tables, recorded = recorded_generation(url)
        if recorded is not None and recorded.get("spec") == repr(spec):
            print(f"reusing the demo data in database {name} (generated before in {recorded['seconds']} s)")
            return urls, {**recorded, "reused": True}
        if tables and GENERATION_TABLE not in tables:
            raise SystemExit(
                f"database {name} holds tables this benchmark did not generate ({', '.join(sorted(tables))}); "
                "name another database or drop it"
            )
    server.create(base_url, name)
    record_generation(url, None)
    generation = generate(spec, urls)
    record_generation(url, generation)
    return urls, generation


def database_name(text: str) -> str:
    """``text`` if it is a plain identifier (`DATABASE_NAME`): the ``--keep-database`` argument's type."""
    if not DATABASE_NAME.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a plain database name (letters, digits, _; at most 63)")
    return text


def server_version(base_url: str) -> str:
    """The server's own version text (``SELECT version()``), for the results."""
    with _engine(base_url) as engine, engine.connect() as conn:
        return str(conn.exec_driver_sql("SELECT version()").scalar())


# --- the graph through Dagster --------------------------------------------------------------------------


PLANNING_GRAPH = "not group:evaluation and not key:budget_frontier"  # planning_job's selection
"""What planning_job runs: every asset but the backtest (its own job, benchmarks/backtest_benchmark.py)."""


def run_graph(urls: dict[str, str], run_config: dict[str, Any], timeout: float, home: Path) -> dict[str, Any]:
    """``dagster asset materialize`` of the planning graph in a fresh instance; wall, peak memory, the run's
    events."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, **urls, "DAGSTER_HOME": str(home)}
    cmd = [
        str(Path(sys.executable).parent / "dagster"),
        "asset",
        "materialize",
        "-m",
        "inventory_assets",
        "--select",
        PLANNING_GRAPH,
    ]
    if run_config:
        config_file = home / "run_config.json"  # JSON is YAML
        config_file.write_text(json.dumps(run_config))
        cmd += ["-c", str(config_file)]
    print(f"materializing the graph: {' '.join(cmd)}", flush=True)
    log = home / "materialize.log"
    started_epoch, started = time.time(), time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        sampler = Sampler(proc.pid)
        sampler.start()
        try:
            returncode: int | str = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            returncode = proc.wait()
            returncode = f"timeout after {timeout:.0f} s"
        sampler.stopped.set()
        sampler.join()
    wall = time.perf_counter() - started
    children_maxrss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    result: dict[str, Any] = {
        "command": " ".join(cmd[1:]),
        "run_config": run_config,
        "returncode": returncode,
        "wall_seconds": round(wall, 2),
        "peak_rss_bytes": sampler.peak(),
        "peak_rss_gb": round(sampler.peak() / 1024**3, 3),
        "max_single_process_rss_gb": round(children_maxrss / 1024**3, 3),
    }
    result.update(read_run(home, sampler, started_epoch))
    result["storage"] = storage_left(home / "storage")
    if returncode != 0:
        result["log_tail"] = log.read_text()[-3000:]
    shutil.copy(log, RESULTS / "tmp" / f"{home.name}.log") if (RESULTS / "tmp").is_dir() else None
    return result


def storage_left(storage: Path) -> dict[str, Any]:
    """What the run left in the instance's storage: bytes of the stored values and of the compute logs."""
    values = logs = 0
    for path in storage.rglob("*") if storage.is_dir() else ():
        if path.is_file():
            if "compute_logs" in path.parts:
                logs += path.stat().st_size
            else:
                values += path.stat().st_size
    return {"values_mb": round(values / 1e6, 1), "compute_logs_mb": round(logs / 1e6, 1)}


def compare_formats(storage: Path) -> dict[str, Any]:
    """Each stored asset value written and read back as the filesystem IO manager's pickle (protocol 4)
    and as ``value_store`` (frames as Parquet), one after the other in this process: seconds and bytes."""
    import pickle

    from inventory_assets.io import value_store

    rows: dict[str, Any] = {}
    scratch = Path(tempfile.mkdtemp(prefix="formats_"))
    try:
        for folder in sorted(p.parent for p in storage.glob(f"*/*/{value_store.VALUE_FILE}")):
            value = value_store.load_value(folder)
            asset = folder.parent.name
            timings: dict[str, Any] = {}
            started = time.perf_counter()
            with open(scratch / "value.pkl", "wb") as file:
                pickle.dump(value, file, 4)
            timings["pickle_write_s"] = round(time.perf_counter() - started, 3)
            timings["pickle_mb"] = round((scratch / "value.pkl").stat().st_size / 1e6, 1)
            started = time.perf_counter()
            with open(scratch / "value.pkl", "rb") as file:
                pickle.load(file)
            timings["pickle_read_s"] = round(time.perf_counter() - started, 3)
            (scratch / "value.pkl").unlink()
            started = time.perf_counter()
            stored = value_store.dump_value(value, scratch / "v")
            timings["parquet_write_s"] = round(time.perf_counter() - started, 3)
            timings["parquet_mb"] = round(stored.bytes / 1e6, 1)
            started = time.perf_counter()
            value_store.load_value(scratch / "v")
            timings["parquet_read_s"] = round(time.perf_counter() - started, 3)
            rows[asset] = timings
            del value
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    totals = {key: round(sum(r[key] for r in rows.values()), 3) for key in next(iter(rows.values()), {})}
    return {"assets": rows, "total": totals}


def read_run(home: Path, sampler: Sampler, started_epoch: float) -> dict[str, Any]:
    """The run's status and wall time and, per step, its seconds, memory and row counts (event log)."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(home)
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs()
        if not runs:
            return {"run_status": "no run"}
        run = runs[0]
        steps, run_start, run_end = _step_events(instance, run.run_id)
        _fold_sales_graph(steps)
        return {
            "run_id": run.run_id,
            "run_status": str(run.status.value),
            "run_seconds": round(run_end - run_start, 2) if run_start and run_end else None,
            "steps": _step_records(steps, sampler, started_epoch),
        }


def _step_events(
    instance: dg.DagsterInstance, run_id: str
) -> tuple[dict[str, dict[str, Any]], float | None, float | None]:
    """Per step key: start, end, status and the numbers of its materialization; the run's start and end."""
    from dagster import DagsterEventType

    steps: dict[str, dict[str, Any]] = {}
    run_start = run_end = None
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None:
            continue
        kind = event.event_type
        if kind == DagsterEventType.RUN_START:
            run_start = entry.timestamp
        elif kind in (DagsterEventType.RUN_SUCCESS, DagsterEventType.RUN_FAILURE):
            run_end = entry.timestamp
        key = entry.step_key
        if key is None:
            continue
        step = steps.setdefault(key, {})
        if kind == DagsterEventType.STEP_START:
            step["start"] = entry.timestamp
        elif kind in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            step["end"] = entry.timestamp
            step["status"] = "success" if kind == DagsterEventType.STEP_SUCCESS else "failure"
        elif kind == DagsterEventType.ASSET_MATERIALIZATION and (
            "metadata" not in step or event.asset_key is not None and event.asset_key.to_user_string() == key
        ):
            # a step that materializes several assets (procurement_plan and plan_summary) reports the one
            # named like the step
            step["metadata"] = {
                k: v.value
                for k, v in event.materialization.metadata.items()
                if isinstance(v.value, (int, float, str, bool)) and len(str(v.value)) < 200
            }
    return steps, run_start, run_end


def _fold_sales_graph(steps: dict[str, dict[str, Any]]) -> None:
    """`sales` is a graph of steps (window, day ranges, assembly): add one record from its first start to
    its last end, with the assembly's materialization; each of its steps stays recorded too."""
    parts = [v for k, v in steps.items() if k.startswith("sales.")]
    if parts and "sales" not in steps:
        assembled = steps.get("sales.sales_assemble", {})
        steps["sales"] = {
            "start": min(p["start"] for p in parts if "start" in p),
            "end": max(p["end"] for p in parts if "end" in p) if all("end" in p for p in parts) else None,
            "status": assembled.get("status", "incomplete"),
            "metadata": assembled.get("metadata", {}),
        }


def _step_records(steps: dict[str, dict[str, Any]], sampler: Sampler, started_epoch: float) -> dict[str, Any]:
    """The report of every step of `STEPS` (and the asset checks' steps): seconds, memory, rows in and out."""
    out_steps: dict[str, Any] = {}
    for name in [*STEPS, *sorted(k for k in steps if k not in STEPS)]:  # the asset checks' steps too
        step = steps.get(name)
        if step is None:
            out_steps[name] = {"status": "not run"}
            continue
        start, end = step.get("start"), step.get("end")
        metadata = step.get("metadata", {})
        record = {
            "status": step.get("status", "incomplete"),
            "seconds": round(end - start, 3) if start and end else None,
            "start_offset_seconds": round(start - started_epoch, 3) if start else None,
            "peak_rss_gb": round(sampler.peak(start, end) / 1024**3, 3) if start and end else None,
            "rows_out": metadata.get("dagster/row_count"),
        }
        if name == "procurement_plan":
            record["model"] = {k: metadata.get(k) for k in PLAN_FIGURES}
        if name == "published_plan":
            record["write_seconds"] = metadata.get("write_seconds")
        out_steps[name] = record
    for name, upstream in UPSTREAM.items():
        rows = [out_steps[u].get("rows_out") for u in upstream]
        out_steps[name]["rows_in"] = sum(rows) if all(r is not None for r in rows) else None
    return out_steps


# --- pushdown vs pandas ---------------------------------------------------------------------------------


def pushdown_worker(mode: str, url: str, history_days: int) -> None:
    """One side of the comparison, in its own process: prints JSON (seconds, rows, peak memory)."""
    import pandas as pd
    import sqlalchemy as sa

    from inventory_assets.io import db, queries

    engine = db.make_engine(url)  # the resources' engine (on MariaDB, utf8mb4)
    started = time.perf_counter()
    if mode == "database":
        frame = queries.read_sales(engine, queries.SourceSpec("sales"), history_days).frame
        rows_read = None
    else:
        latest = pd.read_sql("SELECT MAX(sold_at) AS m FROM sales", engine)["m"].iloc[0]
        end = pd.Timestamp(latest).normalize() + pd.Timedelta(days=1)
        start = end - pd.Timedelta(days=history_days)
        params = (
            {"a": start.date().isoformat(), "b": end.date().isoformat()}
            if engine.dialect.name == "sqlite"
            else {"a": start.date(), "b": end.date()}
        )
        raw = pd.read_sql(
            sa.text(
                "SELECT sold_at, product_id, location_id, quantity FROM sales WHERE sold_at >= :a AND sold_at < :b"
            ),
            engine,
            params=params,
        )
        rows_read = len(raw)
        raw["sale_date"] = pd.to_datetime(raw["sold_at"]).dt.normalize()
        grouped = raw.groupby(["sale_date", "product_id", "location_id"], sort=False)["quantity"]
        frame = grouped.agg(quantity="sum", sale_lines="size", min_line_quantity="min").reset_index()
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        json.dumps(
            {
                "seconds": round(seconds, 2),
                "rows_out": len(frame),
                "rows_read": rows_read,
                "peak_rss_gb": round(peak / 1024**3, 3),
            }
        )
    )


def pushdown(url: str, history_days: int, timeout: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for mode in ("database", "pandas"):
        print(f"sales aggregation in the {mode} ...", flush=True)
        try:
            done = subprocess.run(
                [sys.executable, __file__, "--_pushdown", mode, url, str(history_days)],
                capture_output=True,
                text=True,
                timeout=timeout,
                cwd=ROOT,
            )
            out[mode] = (
                json.loads(done.stdout.strip().splitlines()[-1])
                if done.returncode == 0
                else {"error": done.stderr[-2000:]}
            )
        except subprocess.TimeoutExpired:
            out[mode] = {"error": f"timeout after {timeout:.0f} s"}
    return out


# --- main -----------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=["small", "medium", "large"], default="small")
    parser.add_argument(
        "--products",
        type=int,
        default=None,
        help="the preset's shape (locations, days) with this many products: a point of the "
        "same-shape series (results graph_<size>_<N>p_<backend>.json)",
    )
    parser.add_argument("--backend", choices=["sqlite", *SERVERS], default="sqlite")
    parser.add_argument("--workdir", type=Path, default=None, help="where the SQLite demo databases are")
    parser.add_argument("--regenerate", action="store_true", help="generate the SQLite demo data again")
    parser.add_argument("--pg-url", default=PG_URL, help="PostgreSQL server to create the database on")
    parser.add_argument("--mariadb-url", default=MARIADB_URL, help="MariaDB server to create the database on")
    parser.add_argument(
        "--keep-database",
        metavar="NAME",
        type=database_name,
        default=None,
        help="PostgreSQL or MariaDB: use database NAME and keep it; reuse it when it holds the demo data "
        "of the same size and products (else create it and generate)",
    )
    parser.add_argument(
        "--relax",
        choices=["auto", "yes", "no"],
        default="auto",
        help="solve the plan's LP relaxation: yes, no (the exact MIP at any size), or auto: "
        "the plan's default (exact up to mip_max_rows rows)",
    )
    parser.add_argument(
        "--day-ranges",
        type=int,
        default=1,
        help="read the sales window as this many day ranges (sales config day_ranges)",
    )
    parser.add_argument(
        "--engine",
        choices=["in_process", "multiprocess"],
        default="in_process",
        help="the run's engine (multiprocess: a forkserver that preloaded the project, --max-concurrent steps at once)",
    )
    parser.add_argument("--max-concurrent", type=int, default=2, help="steps at once with --engine multiprocess")
    parser.add_argument(
        "--critical-classes",
        default=None,
        help="comma-separated critical classes of the plan ('' for none; default: the asset's, none at large)",
    )
    parser.add_argument("--timeout", type=float, default=1800, help="seconds the graph may take")
    parser.add_argument("--no-pushdown", action="store_true", help="skip the pushdown comparison")
    parser.add_argument("--label", default="", help="suffix of the JSON file name (e.g. _mip)")
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="the JSON file (default: benchmarks/results/graph_<size>[_<N>p]_<backend><label>.json)",
    )
    parser.add_argument(
        "--generate-only",
        action="store_true",
        help="prepare the demo data (SQLite, or the --keep-database database) and stop",
    )
    parser.add_argument(
        "--compare-formats",
        action="store_true",
        help="after the run, write and read each stored value as pickle and as Parquet (value_store)",
    )
    parser.add_argument("--_pushdown", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    server_url = {"postgresql": args.pg_url, "mariadb": args.mariadb_url}.get(args.backend)
    if args.keep_database and server_url is None:
        parser.error("--keep-database needs --backend postgresql or mariadb")
    if args.generate_only and server_url is not None and not args.keep_database:
        parser.error("--generate-only on a database server needs --keep-database (else it is dropped at once)")
    sys.path.insert(0, str(ROOT))
    if args._pushdown:
        pushdown_worker(args._pushdown[0], args._pushdown[1], int(args._pushdown[2]))
        return 0

    from inventory_assets.defs import constants

    spec = demo_spec(args.size, args.products)
    case = args.size if args.products is None else f"{args.size}_{args.products}p"
    workdir = args.workdir or Path(tempfile.gettempdir()) / "inventory_assets_bench" / f"{case}_{args.backend}"
    relax_configs: dict[str, dict[str, Any]] = {
        "yes": {"relax_integrality": True},
        "no": {"mip_max_rows": None},
        "auto": {},
    }
    plan_config = relax_configs[args.relax]
    if args.critical_classes is not None:
        plan_config["critical_classes"] = [c for c in args.critical_classes.split(",") if c]
    ops: dict[str, Any] = {"procurement_plan": {"config": plan_config}} if plan_config else {}
    if args.day_ranges != 1:
        ops["sales"] = {"config": {"day_ranges": args.day_ranges}}
    run_config: dict[str, Any] = {"ops": ops} if ops else {}
    if args.engine == "multiprocess":
        from inventory_assets.defs.automation import executors

        run_config.update(
            executors.execution_config(
                "multiprocess",
                max_concurrent=args.max_concurrent,
                start_method={"forkserver": {"preload_modules": ["inventory_assets.definitions"]}},
            )
        )
    report: dict[str, Any] = {
        "benchmark": "graph",
        "size": args.size,
        "products": spec.products,
        "backend": args.backend,
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "git": git_commit(),
        "machine": machine(),
        "relax": args.relax,
        "day_ranges": args.day_ranges,
        "engine": args.engine,
    }
    database = args.keep_database or f"inventory_bench_{case}_{os.getpid()}"
    try:
        if server_url is None:
            urls, generation = prepare_sqlite(spec, workdir, args.regenerate)
        else:
            report["server"] = server_version(server_url)
            report["kept_database"] = args.keep_database
            urls, generation = prepare_server(args.backend, server_url, database, spec, args.keep_database is not None)
        if args.generate_only:
            print(generation)
            return 0
        report["generation"] = generation
        home = Path(tempfile.mkdtemp(prefix=f"dagster_home_{case}_"))
        try:
            report["graph"] = run_graph(urls, run_config, args.timeout, home)
            if args.compare_formats:
                report["formats"] = compare_formats(home / "storage")
        finally:
            shutil.rmtree(home, ignore_errors=True)
        db_rows = generation.get("rows", {})
        for name in ("sales", "inventory", "costs", "locations", "receipts"):
            step = report["graph"].get("steps", {}).get(name)
            if step is not None:
                step["rows_in"] = db_rows.get(name)
        if not args.no_pushdown:
            report["pushdown"] = pushdown(urls["INVENTORY_CLOUD_DB_URL"], constants.DEFAULT_HISTORY_DAYS, args.timeout)
    finally:
        if server_url is not None and args.keep_database is None:
            SERVERS[args.backend].drop(server_url, database)
    output = args.output or RESULTS / f"graph_{case}_{args.backend}{args.label}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print_summary(report)
    print(f"results: {output}")
    graph = report["graph"]
    return 0 if graph.get("returncode") == 0 else 1


def print_summary(report: dict[str, Any]) -> None:
    graph = report["graph"]
    print(
        f"\n{report['size']} ({report.get('products') or 0:,} products) on {report['backend']}: "
        f"graph {graph['wall_seconds']:.1f} s wall "
        f"(run {graph.get('run_seconds')} s), peak {graph['peak_rss_gb']:.2f} GB, status {graph.get('run_status')}"
    )
    print(f"{'step':<20}{'seconds':>10}{'peak GB':>10}{'rows in':>14}{'rows out':>14}")
    for name, step in graph.get("steps", {}).items():
        print(
            f"{name:<20}{step.get('seconds') or float('nan'):>10.2f}{step.get('peak_rss_gb') or float('nan'):>10.2f}"
            f"{step.get('rows_in') or 0:>14,}{step.get('rows_out') or 0:>14,}"
        )
    model = graph.get("steps", {}).get("procurement_plan", {}).get("model")
    if model:
        print("plan:", ", ".join(f"{k} {v}" for k, v in model.items() if v is not None))
    for mode, figures in report.get("pushdown", {}).items():
        print(f"sales aggregation in the {mode}: {figures}")


# --- the report: markdown tables and the scaling curve (SVG, drawn by hand: no matplotlib) ---------------


def load_results(backend: str = "sqlite", label: str = "") -> dict[str, dict[str, Any]]:
    out = {}
    for size in ("small", "medium", "large"):
        path = RESULTS / f"graph_{size}_{backend}{label}.json"
        if path.exists():
            out[size] = json.loads(path.read_text())
    return out


def load_series(size: str = "large", backend: str = "sqlite") -> dict[str, dict[str, Any]]:
    """The same-shape series of ``size`` (its preset and each ``--products`` run), by product-locations."""
    paths = [RESULTS / f"graph_{size}_{backend}.json", *sorted(RESULTS.glob(f"graph_{size}_*p_{backend}.json"))]
    found = sorted((json.loads(p.read_text()) for p in paths if p.exists()), key=pairs_of)
    return {f"{pairs_of(r):,} pairs": r for r in found}


def pairs_of(report: dict[str, Any]) -> int:
    return int(report["graph"]["steps"]["merged_dataset"].get("rows_out") or 0)


def _slope(n1: float, t1: float | None, n2: float, t2: float | None) -> str:
    """The exponent k of t ~ n**k between two points (log-log slope)."""
    import math

    return f"{math.log(t2 / t1) / math.log(n2 / n1):.2f}" if t1 and t2 and n2 != n1 else "-"


def series_report(results: dict[str, dict[str, Any]]) -> str:
    """Seconds per step at each point of a same-shape series, and the log-log slope between neighbouring
    points and over the whole series: 1 is linear; n log n's slope over the same range is the last row."""
    import math

    points = list(results.values())
    ns = [pairs_of(r) for r in points]
    segments = [(i, i + 1) for i in range(len(ns) - 1)]  # neighbouring points
    if len(ns) > 2:
        segments.append((0, len(ns) - 1))  # the whole range: a single run's noise weighs least there
    lines = [
        "| step | "
        + " | ".join(f"{n:,} pairs s" for n in ns)
        + " | "
        + " | ".join(f"slope {ns[a]:,}→{ns[b]:,}" for a, b in segments)
        + " |",
        "|---|" + "---:|" * (len(ns) + len(segments)),
    ]
    for name in [*STEPS, "(graph wall)"]:
        secs = [
            r["graph"]["wall_seconds"] if name == "(graph wall)" else r["graph"]["steps"].get(name, {}).get("seconds")
            for r in points
        ]
        lines.append(
            f"| {name} | "
            + " | ".join(f"{t:.2f}" if t else "-" for t in secs)
            + " | "
            + " | ".join(_slope(ns[a], secs[a], ns[b], secs[b]) for a, b in segments)
            + " |"
        )
    nlogn = [n * math.log(n) for n in ns]
    lines.append(
        "| n log n | "
        + " | ".join("" for _ in ns)
        + " | "
        + " | ".join(_slope(ns[a], nlogn[a], ns[b], nlogn[b]) for a, b in segments)
        + " |"
    )
    return "\n".join(lines)


def markdown_report(results: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| step | "
        + " | ".join(f"{s} s" for s in results)
        + " | "
        + " | ".join(f"{s} s per 1,000 pairs" for s in results)
        + " |",
        "|---|" + "---:|" * (2 * len(results)),
    ]
    for name in [*STEPS, "(graph wall)"]:
        secs, per = [], []
        for report in results.values():
            graph = report["graph"]
            value = graph["wall_seconds"] if name == "(graph wall)" else graph["steps"].get(name, {}).get("seconds")
            secs.append(f"{value:.2f}" if value is not None else "-")
            per.append(f"{1000 * value / pairs_of(report):.4f}" if value is not None and pairs_of(report) else "-")
        lines.append(f"| {name} | " + " | ".join(secs) + " | " + " | ".join(per) + " |")
    return "\n".join(lines)


def svg_curve(
    results: dict[str, dict[str, Any]],
    path: Path,
    title: str = "Seconds per step vs product-locations",
    reference: str = "the small graph wall",
) -> None:
    """Seconds per step against product-locations, log-log, with an n log n reference line."""
    import math

    sizes = sorted(results, key=lambda s: pairs_of(results[s]))
    xs = {s: pairs_of(results[s]) for s in sizes}
    series = {
        name: [(xs[s], results[s]["graph"]["steps"].get(name, {}).get("seconds")) for s in sizes] for name in STEPS
    }
    series["(graph wall)"] = [(xs[s], results[s]["graph"]["wall_seconds"]) for s in sizes]
    w, h, left, right, top, bottom = 760, 480, 70, 200, 30, 50
    x0, x1 = math.log10(min(xs.values(), default=500) / 2), math.log10(max(xs.values(), default=1e6) * 1.5)
    y0, y1 = math.log10(0.05), math.log10(2000)

    def px(x: float) -> float:
        return left + (math.log10(x) - x0) / (x1 - x0) * (w - left - right)

    def py(y: float) -> float:
        return h - bottom - (math.log10(max(y, 0.05)) - y0) / (y1 - y0) * (h - top - bottom)

    colours = [
        "#1f77b4",
        "#ff7f0e",
        "#2ca02c",
        "#d62728",
        "#9467bd",
        "#8c564b",
        "#e377c2",
        "#7f7f7f",
        "#bcbd22",
        "#000000",
    ]
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">',
        f'<rect width="{w}" height="{h}" fill="white"/>',
        f'<text x="{left}" y="18" font-size="13">{title} (log-log; dashed: n log n through {reference})</text>',
    ]
    steps = (1, 2, 5) if x1 - x0 < 2 else (1,)  # a narrow range gets 1-2-5 ticks, a wide one decades
    ticks = [m * 10**e for e in range(math.floor(x0), math.ceil(x1) + 1) for m in steps]
    for tick in (t for t in ticks if x0 <= math.log10(t) <= x1):
        x = px(tick)
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{h - bottom}" stroke="#ddd"/>')
        out.append(f'<text x="{x:.1f}" y="{h - bottom + 15}" text-anchor="middle">{tick:,}</text>')
    for e in (-1, 0, 1, 2, 3):
        y = py(10**e)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{w - right}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{10**e:g} s</text>')
    out.append(
        f'<text x="{(left + w - right) / 2}" y="{h - 12}" text-anchor="middle">product-locations '
        "(rows of merged_dataset)</text>"
    )
    if sizes and series["(graph wall)"][0][1]:
        n0, t0 = series["(graph wall)"][0]
        ref = [(n, t0 * (n * math.log(n)) / (n0 * math.log(n0))) for n in (n0, 3e6)]
        out.append(
            '<polyline fill="none" stroke="#999" stroke-dasharray="5,4" points="'
            + " ".join(f"{px(n):.1f},{py(t):.1f}" for n, t in ref)
            + '"/>'
        )
    for i, (name, points) in enumerate(series.items()):
        pts = [(x, y) for x, y in points if y]
        colour = colours[i % len(colours)]
        width = 3 if name == "(graph wall)" else 1.5
        if len(pts) > 1:
            out.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="{width}" points="'
                + " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
                + '"/>'
            )
        for x, y in pts:
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}"/>')
        ly = top + 10 + 16 * i
        out.append(
            f'<line x1="{w - right + 15}" y1="{ly}" x2="{w - right + 35}" y2="{ly}" stroke="{colour}" '
            f'stroke-width="{width}"/><text x="{w - right + 40}" y="{ly + 4}">{name}</text>'
        )
    out.append("</svg>")
    path.write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--report"]:
        found = load_results()
        print(markdown_report(found))
        svg_curve(found, ROOT / "docs" / "scaling-curve.svg")
        series = load_series()
        if len(series) > 1:
            print("\nThe large shape (10 locations, 90 days) at each number of products:\n")
            print(series_report(series))
            svg_curve(
                series,
                ROOT / "docs" / "scaling-series.svg",
                title="The large shape: seconds per step vs product-locations",
                reference="the first point",
            )
        sys.exit(0)
    sys.exit(main())
