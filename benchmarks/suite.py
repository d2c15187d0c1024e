"""The benchmark suite: every workload against the raw-SQL baseline of the same operation,
measured in the same run.

    make bench                    # medium: 100,000 customers (SQLite in var/bench/medium)
    make bench-full               # large: 1,000,000 customers
    .venv/bin/python benchmarks/suite.py --scale small [--data-dir DIR] [--skip-http] [--skip-import]
    KEHU_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/kehu_bench_medium \\
        .venv/bin/python benchmarks/suite.py --scale medium

The first run of a scale generates its data (``kehu bench generate``) into the data directory
(``var/bench/<scale>``, or ``…-postgresql`` with ``KEHU_DATABASE_URL``, where the database must
be empty) and later runs reuse it. Then, as a salesperson who sees only their own and their
team's records (row-level visibility) unless said otherwise:

- list: 50 customers at one lifecycle stage, newest first, through the API and the web page,
  against the same page and count in plain SQL (``WHERE`` visibility, stage; ``ORDER BY``);
- search: a Latin fragment, two Chinese characters, a name's pinyin and a phone number typed
  with spaces, against the bare index match (FTS5 / pg_trgm) or blind-index lookup;
- detail: the busiest visible customer's page and its timeline, against the record, its
  contacts and the first timeline page in plain SQL;
- reports: home, My day, the pipeline board (as a manager, against the raw card and totals
  query), the forecast and receivables;
- import: a customer CSV through the real import path against ``sqlite3.executemany`` into a
  table with the same DDL (``import_bench.py``), and its peak memory at two file sizes;
- plans: the queries of the list, search and detail workloads explained (``EXPLAIN`` /
  ``EXPLAIN QUERY PLAN``): any full scan of a table over 10,000 rows is reported;
- HTTP: ``kehu run --production`` with 2 workers under ``httpload.py`` on loopback — the API
  list, a customer's API detail and API create — against ``/healthz``, a minimal JSON view
  of the same processes (the ceiling).

Prints a markdown table and writes ``benchmarks/results/<date>-<scale>[-postgresql].json`` and
``.md``. Budgets (``benchmarks/README.md``) are checked and reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(HERE))

IMPORT_ROWS = {"small": 5_000, "medium": 20_000, "large": 100_000}
RUNS = {"small": 15, "medium": 30, "large": 30}


@dataclass
class Row:
    """One line of the results table."""

    group: str
    name: str
    unit: str  # "ms" (lower is better) or "req/s", "rows/s" (higher is better), "MB"
    value: float  # median (ms), or the rate
    p95: float | None = None
    baseline: float | None = None
    baseline_p95: float | None = None
    note: str = ""
    budget: str = ""
    met: bool | None = None

    @property
    def ratio(self) -> float | None:
        if not self.baseline:
            return None
        if self.unit == "ms":
            return self.value / self.baseline
        return self.value / self.baseline  # a rate: the share of the baseline's rate


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, round(len(ordered) * share) - 1)]


def timed(run: Callable[[], Any], runs: int) -> tuple[float, float]:
    """Median and p95 in milliseconds over ``runs`` calls after two warm-up calls."""
    run()
    run()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), percentile(samples, 0.95)


def data_dir_for(args: argparse.Namespace) -> Path:
    if args.data_dir:
        return Path(args.data_dir).resolve()
    suffix = "-postgresql" if os.environ.get("KEHU_DATABASE_URL") else ""
    return ROOT / "var" / "bench" / f"{args.scale}{suffix}"


def setup(args: argparse.Namespace) -> dict[str, Any]:
    """Django on the scale's database, generated on the first run; returns the generation
    record (rows and seconds per step) kept next to the data."""
    data_dir = data_dir_for(args)
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["KEHU_DATA_DIR"] = str(data_dir)
    os.environ["KEHU_ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    os.environ.setdefault("KEHU_LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from kehu.bench.generate import SCALES, Generator, Volumes
    from kehu.customers.models import Customer

    marker = data_dir / "bench.json"
    call_command("migrate", verbosity=0)
    if marker.exists() and Customer.all_objects.exists():
        record = json.loads(marker.read_text())
        if record["scale"] != args.scale:
            sys.exit(f"{data_dir} holds the {record['scale']} scale, not {args.scale}: use another --data-dir")
        print(f"Reusing the {args.scale} data in {data_dir} (generated {record['generated_on']}).", flush=True)
        return record
    if Customer.all_objects.exists():
        sys.exit(f"The database of {data_dir} holds customers that are not benchmark data: use an empty one.")
    print(f"Generating the {args.scale} data ({SCALES[args.scale]:,} customers) into {data_dir} …", flush=True)
    generator = Generator(Volumes(SCALES[args.scale]), seed=1, progress=lambda m: print(f"  {m}", flush=True))
    report = generator.run()
    analyze()
    record = {
        "scale": args.scale,
        "generated_on": date.today().isoformat(),
        "rows": report.rows,
        "seconds": {k: round(v, 1) for k, v in report.seconds.items()},
        "total_rows": report.total_rows,
        "total_seconds": round(report.total_seconds, 1),
    }
    marker.write_text(json.dumps(record, indent=2))
    return record


def analyze() -> None:
    """The planner's statistics after the bulk load, as the nightly ``planner_statistics``
    sweep (``platform/statistics.py``) leaves them: ANALYZE, with SQLite's figures for blind
    indexes corrected."""
    from kehu.platform import statistics

    statistics.refresh()


# -- raw SQL baselines -------------------------------------------------------------------


def visible_sql(user: Any, alias: str = "c") -> tuple[str, list[Any]]:
    from kehu.platform.access import visibility_scope

    scope = visibility_scope(user)
    if scope == "all":
        return "1 = 1", []
    if scope in ("team", "team_tree") and user.team_id:
        return f"({alias}.owner_id = %s OR {alias}.team_id = %s)", [user.pk, user.team_id]
    return f"{alias}.owner_id = %s", [user.pk]


def raw_list(user: Any, stage: str) -> Callable[[], Any]:
    """A page of 50 customers at ``stage`` that ``user`` may see, newest first, with the owner
    shown, and the count — what the list asks the database, in plain SQL."""
    from django.db import connection

    where, params = visible_sql(user)
    page = f"""
        SELECT c.*, u.username, u.first_name, u.last_name FROM customers_customer c
        LEFT JOIN accounts_user u ON u.id = c.owner_id
        WHERE c.deleted_at IS NULL AND c.stage_id = %s AND {where}
        ORDER BY c.updated_at DESC, c.id DESC LIMIT 50
    """
    count = f"SELECT count(*) FROM customers_customer c WHERE c.deleted_at IS NULL AND c.stage_id = %s AND {where}"

    def run() -> Any:
        with connection.cursor() as cursor:
            cursor.execute(page, [stage, *params])
            cursor.fetchall()
            cursor.execute(count, [stage, *params])
            return cursor.fetchone()

    return run


def raw_detail(customer_id: int) -> Callable[[], Any]:
    """A customer, its contacts and the first page of its timeline in plain SQL."""
    from django.db import connection

    def run() -> Any:
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM customers_customer WHERE id = %s", [customer_id])
            cursor.fetchall()
            cursor.execute(
                "SELECT * FROM customers_contact WHERE customer_id = %s AND deleted_at IS NULL ORDER BY id",
                [customer_id],
            )
            cursor.fetchall()
            cursor.execute(
                "SELECT * FROM platform_timelineentry WHERE subject_type = 'customer' AND subject_id = %s "
                "ORDER BY occurred_at DESC, id DESC LIMIT 20",
                [customer_id],
            )
            return cursor.fetchall()

    return run


def raw_my_day(user: Any) -> Callable[[], Any]:
    """The user's open tasks due up to a week ahead, soonest first, in plain SQL."""
    from django.db import connection
    from django.utils import timezone

    horizon = timezone.now() + timezone.timedelta(days=7)

    def run() -> Any:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT t.*, c.name FROM activities_task t LEFT JOIN customers_customer c ON c.id = t.customer_id "
                "WHERE t.owner_id = %s AND t.status = 'open' AND t.deleted_at IS NULL AND t.due_at <= %s "
                "ORDER BY t.due_at LIMIT 100",
                [user.pk, horizon],
            )
            return cursor.fetchall()

    return run


# -- query plans ---------------------------------------------------------------------------

LARGE_TABLE = 10_000  # rows: a full scan of a table this big is a finding


def table_rows() -> dict[str, int]:
    from django.db import connection

    sizes = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            if connection.vendor == "postgresql":
                cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table])
                found = cursor.fetchone()
                sizes[table] = int(found[0]) if found else 0
            else:
                cursor.execute(f'SELECT count(*) FROM "{table}"')
                sizes[table] = int(cursor.fetchone()[0])
    return sizes


def full_scans(run: Callable[[], Any], sizes: dict[str, int]) -> list[str]:
    """The large tables that the SELECTs of one ``run()`` read in full, by their plans
    (PostgreSQL ``EXPLAIN``: "Seq Scan on T"; SQLite ``EXPLAIN QUERY PLAN``: "SCAN T"
    without an index)."""
    import re

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        run()
    found: set[str] = set()
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            if connection.vendor == "postgresql":
                cursor.execute(f"EXPLAIN {sql}")
                scans = re.findall(r"Seq Scan on (\w+)", "\n".join(row[0] for row in cursor.fetchall()))
            else:
                cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
                details = [row[-1] for row in cursor.fetchall()]
                scans = [
                    m.group(1) for detail in details if (m := re.match(r"SCAN (\w+)", detail)) and "INDEX" not in detail
                ]
            found.update(table for table in scans if sizes.get(table, 0) >= LARGE_TABLE)
    return sorted(found)


def plan_workloads(who: dict[str, Any]) -> list[Row]:
    """Full scans of large tables in the list, search and detail workloads' queries."""
    from kehu.platform import search

    rep = who["rep"]
    client = client_for(rep)
    sizes = table_rows()
    checks: list[tuple[str, Callable[[], Any]]] = [
        ("API list", get_ok(client, "/api/v1/customers/?limit=50&stage=active&ordering=-updated_at")),
        ("web list page", get_ok(client, "/customers/?stage=active&sort=-updated_at")),
        ("search", lambda: search.search(rep, "科技", limit=8)),
    ]
    if who["busiest"]:
        checks.append(("customer page + timeline", get_ok(client, f"/customers/{who['busiest']}/")))
        checks.append(("timeline", get_ok(client, f"/customers/{who['busiest']}/timeline/")))
    rows = []
    for name, run in checks:
        tables = full_scans(run, sizes)
        row = Row("plans", name, "full scans", len(tables), note=", ".join(tables) or "none")
        row.budget = f"no full scan of a table over {LARGE_TABLE:,} rows"
        row.met = not tables
        rows.append(row)
    return rows


# -- workloads -----------------------------------------------------------------------------


def client_for(user: Any) -> Any:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def get_ok(client: Any, url: str) -> Callable[[], Any]:
    def run() -> Any:
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}")
        return response

    return run


def people(scale: str) -> dict[str, Any]:
    from django.db.models import Count

    from kehu.accounts.models import User
    from kehu.activities.models import Interaction
    from kehu.platform.access import visible_to

    rep = User.objects.get(username="rep1-1")
    manager = User.objects.get(username="manager1")
    busiest = (
        visible_to(rep, Interaction.objects.all()).values("customer_id").annotate(n=Count("id")).order_by("-n").first()
    )
    return {"rep": rep, "manager": manager, "busiest": busiest["customer_id"] if busiest else None}


def list_workloads(who: dict[str, Any], runs: int) -> list[Row]:
    rep = who["rep"]
    client = client_for(rep)
    baseline, baseline_p95 = timed(raw_list(rep, "active"), runs)
    rows = []
    for name, url in [
        ("API list", "/api/v1/customers/?limit=50&stage=active&ordering=-updated_at"),
        ("web list page", "/customers/?stage=active&sort=-updated_at"),
    ]:
        median, p95 = timed(get_ok(client, url), runs)
        rows.append(
            Row("list", name, "ms", median, p95, baseline, baseline_p95, note=url, budget="p95 ≤ 50 ms, ≤ 3× raw")
        )
        rows[-1].met = p95 <= 50 and median <= 3 * baseline
    return rows


def search_workloads(who: dict[str, Any], runs: int) -> list[Row]:
    from search_bench import raw_phone, raw_query

    from kehu.customers.models import Customer
    from kehu.customers.records import CUSTOMER
    from kehu.platform import search
    from kehu.platform.access import visible_to
    from kehu.platform.fields import encrypted_lookup_q

    rep = who["rep"]
    mine = visible_to(rep, Customer.objects.all()).order_by("pk")
    person = mine.filter(kind="person", country="中国").first()
    mobiles = [c for c in mine.exclude(phone="")[:500] if c.phone.startswith("+861")]
    cases: list[tuple[str, str, Callable[[], Any]]] = [
        ("Latin fragment", "pacif", raw_query("pacif")),
        ("2-char Chinese", "科技", raw_query("科技")),
    ]
    if person is not None:
        full = search.pinyin_keys(person.name)[0]
        cases.append(("pinyin of a name", full, raw_query(full)))
    for customer in mobiles:
        national = customer.phone.removeprefix("+86")
        typed = f"{national[:3]} {national[3:7]} {national[7:]}"
        if encrypted_lookup_q(CUSTOMER, typed) is not None:  # a number in a range in use
            cases.append(("phone with spaces", typed, raw_phone(typed)))
            break
    rows = []
    for label, text, raw in cases:
        median, p95 = timed(lambda text=text: search.search(rep, text, limit=8), runs)
        base, base95 = timed(raw, runs)
        rows.append(Row("search", label, "ms", median, p95, base, base95, note=text, budget="p95 ≤ 50 ms"))
        rows[-1].met = p95 <= 50
    return rows


def detail_workloads(who: dict[str, Any], runs: int) -> list[Row]:
    customer_id = who["busiest"]
    if customer_id is None:
        return []
    client = client_for(who["rep"])
    page = get_ok(client, f"/customers/{customer_id}/")
    timeline = get_ok(client, f"/customers/{customer_id}/timeline/")

    def both() -> None:
        page()
        timeline()

    from kehu.activities.models import Interaction

    count = Interaction.objects.filter(customer_id=customer_id).count()
    median, p95 = timed(both, runs)
    base, base95 = timed(raw_detail(customer_id), runs)
    row = Row(
        "detail",
        "customer page + timeline",
        "ms",
        median,
        p95,
        base,
        base95,
        note=f"customer {customer_id}, {count} interactions",
        budget="p95 ≤ 100 ms",
    )
    row.met = p95 <= 100
    return [row]


def report_workloads(who: dict[str, Any], runs: int) -> list[Row]:
    from board_bench import raw_board

    from kehu.sales.opportunities.models import Pipeline

    rep, manager = who["rep"], who["manager"]
    pipeline = Pipeline.objects.get(is_default=True)
    rows = []
    for name, user, url, raw in [
        ("home", rep, "/", None),
        ("My day", rep, "/my-day/", raw_my_day(rep)),
        ("pipeline board (manager)", manager, "/opportunities/board/", raw_board(pipeline.pk, 100)),
        ("forecast (manager)", manager, "/opportunities/forecast/", None),
        ("receivables (manager)", manager, "/receivables/", None),
    ]:
        median, p95 = timed(get_ok(client_for(user), url), max(5, runs // 3))
        base, base95 = timed(raw, max(5, runs // 3)) if raw is not None else (None, None)
        rows.append(Row("reports", name, "ms", median, p95, base, base95, note=url))
    return rows


def import_workloads(scale: str, rows: int) -> list[Row]:
    """``import_bench.py`` in a child process per size (fresh database each, so the peak RSS
    is the import's own): the rate against the raw insert, and the memory at two sizes."""
    results = []
    env = {k: v for k, v in os.environ.items() if k not in {"KEHU_DATABASE_URL", "KEHU_DATA_DIR"}}
    for size in (rows, 2 * rows):
        output = subprocess.run(
            [sys.executable, str(HERE / "import_bench.py"), "--child", "--rows", str(size)],
            check=True,
            env=env,
            capture_output=True,
            text=True,
        )
        results.append(json.loads(output.stdout.strip().splitlines()[-1]))
    first, second = results
    rate = Row(
        "import",
        f"customers CSV, {rows:,} rows (GB18030, Chinese headers)",
        "rows/s",
        first["rows_per_second"],
        baseline=first["raw_rows_per_second"],
        note="SQLite; raw: sqlite3 executemany into the same DDL",
        budget="≥ 50% of raw",
    )
    rate.met = first["rows_per_second"] >= 0.5 * first["raw_rows_per_second"]
    memory = Row(
        "import",
        f"peak RSS, {2 * rows:,} rows",
        "MB",
        second["peak_rss_mb"],
        baseline=first["peak_rss_mb"],
        note=f"baseline: peak RSS at {rows:,} rows",
        budget="constant in file size (≤ 1.2×)",
    )
    memory.met = second["peak_rss_mb"] <= 1.2 * first["peak_rss_mb"]
    return [rate, memory]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_workloads(who: dict[str, Any], seconds: float) -> list[Row]:
    """``kehu run --production`` (2 workers) under the load generator, against /healthz."""
    from httpload import load

    from kehu.accounts.services import token_create
    from kehu.customers.models import Customer
    from kehu.platform.context import Context

    rep = who["rep"]
    _token, secret = token_create(ctx=Context(user=rep, source="cli"), user=rep, scopes=["write"], name="bench")
    auth = {"Authorization": f"Bearer {secret}", "Accept": "application/json"}
    port = free_port()
    kehu = shutil.which("kehu", path=str(Path(sys.executable).parent)) or "kehu"
    server = subprocess.Popen(
        [kehu, "run", "--production", "--workers", "2", "--port", str(port)],
        env={**os.environ},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    started = time.time()
    try:
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if server.poll() is not None or time.time() - started > 60:
                    raise RuntimeError("kehu run --production did not start") from None
                time.sleep(0.3)
        load(f"{base}/readyz", seconds=1, connections=2)  # warm both workers
        sample = Customer.objects.filter(owner=rep).order_by("pk").first()
        detail = f"/api/v1/customers/{sample.pk if sample else 1}/"
        ceiling = load(f"{base}/healthz", seconds=seconds)
        rows = [Row("http", "ceiling: /healthz (minimal JSON view)", "req/s", ceiling.per_second, note="8 connections")]
        body = json.dumps({"name": "压测客户 Bench load", "kind": "company"}).encode()
        before = Customer.all_objects.count()
        for name, url, method, payload, expect in [
            ("API list (50 rows)", "/api/v1/customers/?limit=50&stage=active", "GET", None, (200,)),
            (
                "API detail",
                detail,
                "GET",
                None,
                (200,),
            ),
            ("API create", "/api/v1/customers/", "POST", body, (200, 201)),
        ]:
            result = load(f"{base}{url}", seconds=seconds, method=method, headers=auth, body=payload, expect=expect)
            row = Row(
                "http",
                name,
                "req/s",
                result.per_second,
                baseline=ceiling.per_second,
                note=f"p50 {result.p50:.1f} ms, p95 {result.p95:.1f} ms, {result.errors} errors",
            )
            if name.startswith("API list"):
                row.budget = "≥ 50% of the ceiling"
                row.met = result.per_second >= 0.5 * ceiling.per_second and result.errors == 0
            rows.append(row)
        created = Customer.all_objects.count() - before
        rows[-1].note += f"; {created} customers created"
        return rows
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


# -- output --------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    import sqlite3

    from django.db import connection

    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    database = f"SQLite {sqlite3.sqlite_version}"
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            database = f"PostgreSQL {cursor.fetchone()[0]}"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "database": database,
    }


def fmt(value: float | None, unit: str = "ms") -> str:
    if value is None:
        return "—"
    if unit in ("req/s", "rows/s", "full scans"):
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def table(rows: list[Row]) -> str:
    lines = [
        "| group | workload | unit | median / rate | p95 | raw SQL / ceiling | raw p95 | ratio | budget | met |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ratio = row.ratio
        shown = "—" if ratio is None else (f"{ratio:.1f}×" if row.unit == "ms" else f"{ratio:.0%}")
        if row.unit == "MB" and ratio is not None:
            shown = f"{ratio:.2f}×"
        met = "" if row.met is None else ("yes" if row.met else "**no**")
        lines.append(
            f"| {row.group} | {row.name} | {row.unit} | {fmt(row.value, row.unit)} | {fmt(row.p95)} | "
            f"{fmt(row.baseline, row.unit)} | {fmt(row.baseline_p95)} | {shown} | {row.budget} | {met} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=["small", "medium", "large"], default="medium")
    parser.add_argument("--data-dir", help="where the scale's data lives (default var/bench/<scale>)")
    parser.add_argument("--runs", type=int, help="timed runs per workload (default 15 small, 30 otherwise)")
    parser.add_argument("--http-seconds", type=float, default=5.0, help="seconds of load per endpoint")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument("--import-rows", type=int, help="rows of the import workload (doubled for memory)")
    parser.add_argument("--out", default=str(HERE / "results"), help="directory for the JSON and markdown")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    runs = args.runs or RUNS[args.scale]
    clock = time.perf_counter()
    generated = setup(args)

    from django.db import connection

    from kehu.platform import heap

    # The pages are timed in this process: keep its long-lived objects out of the garbage
    # collector's full collections, as kehu.wsgi does in a web worker.
    heap.freeze_loaded()
    heap.freeze_as_requests_warm_up()

    who = people(args.scale)
    rows: list[Row] = []
    steps: list[tuple[str, Callable[[], list[Row]]]] = [
        ("list", lambda: list_workloads(who, runs)),
        ("search", lambda: search_workloads(who, runs)),
        ("detail", lambda: detail_workloads(who, runs)),
        ("reports", lambda: report_workloads(who, runs)),
        ("plans", lambda: plan_workloads(who)),
    ]
    if not args.skip_import:
        steps.append(("import", lambda: import_workloads(args.scale, args.import_rows or IMPORT_ROWS[args.scale])))
    if not args.skip_http:
        steps.append(("http", lambda: http_workloads(who, args.http_seconds)))
    for name, step in steps:
        print(f"… {name}", flush=True)
        rows += step()
    about = machine()
    counts = generated.get("rows", {})
    header = (
        f"Kehu benchmark, {args.scale} scale ({counts.get('customers', 0):,} customers, "
        f"{generated.get('total_rows', 0):,} rows generated in {generated.get('total_seconds', 0):.0f} s), "
        f"{about['database']}, {date.today().isoformat()}.\n"
        f"Machine: {about['cpu'] or 'unknown CPU'}, {about['cores']} cores, {about['memory']}, "
        f"Python {about['python']}. Milliseconds unless said; ratio = median / raw median "
        f"(for rates: share of the baseline's rate); {runs} runs per workload."
    )
    output = f"{header}\n\n{table(rows)}\n"
    print()
    print(output)
    if not args.no_write:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        stem = f"{date.today().isoformat()}-{args.scale}{'-postgresql' if connection.vendor == 'postgresql' else ''}"
        (out / f"{stem}.md").write_text(output)
        (out / f"{stem}.json").write_text(
            json.dumps(
                {
                    "scale": args.scale,
                    "date": date.today().isoformat(),
                    "machine": about,
                    "generated": generated,
                    "runs": runs,
                    "rows": [{**asdict(row), "ratio": row.ratio} for row in rows],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        print(f"Written to {out / stem}.json and .md")
    print(f"Suite took {time.perf_counter() - clock:.0f} s.")


if __name__ == "__main__":
    main()
