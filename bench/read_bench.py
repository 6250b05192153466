"""Read benchmark: every page and every KPI API over tens of millions of serving events
on PostgreSQL, p50/p95 server time and queries per request (figures in bench/README.md).

    .venv/bin/python bench/read_bench.py --database kpb50 load --events 50000000
    .venv/bin/python bench/read_bench.py --database kpb50 measure --requests 20
    .venv/bin/python bench/read_bench.py --database kpb50 measure --tree /path/to/old/checkout

`load` seeds the demo portfolio (its models, versions, endpoints, deployment ledger,
incidents, registries, datasets, training runs and labels, 30 days of traffic ending at
the current hour) through `seed_demo`, then copies its serving events inside PostgreSQL
until the table holds `--events` rows: each copy keeps the original's model, version,
endpoint, team, status and caller, moves its time by up to a minute either way (never
past the data's end) and spreads its latency by up to ±20%, so every copy lands where
the demo's ledger has that version deployed and every page has the demo's content at
50 million events. The events table's indexes are dropped for the copy and built again
after it; the rollups are then rebuilt from scratch and every table analysed.

`measure` asks every page (as an admin, signed in) and every KPI API (with an admin
token) `--requests` times after one warm-up, in process through Django's test client,
with the code of `--tree` (default: this checkout), so an older commit's code can be
measured on the same rows: `git worktree add /tmp/before <commit>` and pass
`--tree /tmp/before`. A URL that tree does not have (404) is reported as such. A URL
whose warm-up takes longer than `--slow-seconds` is timed only `--slow-requests` times,
so a slow old page does not take the hour.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from benchenv import database_create, load_average, postgres_environ

HERE = Path(__file__).resolve().parents[1]
DAY_SECONDS = 86400


def django_setup(database: str, tree: Path, *, create: bool) -> None:
    postgres_environ(
        database,
        # Per tree: pages render with that tree's static manifest.
        STATIC_ROOT=f"/tmp/kpiboard-bench-static-{hashlib.sha1(bytes(tree)).hexdigest()[:8]}",
    )
    if create:
        database_create(database)
    # The editable install's import hook would answer with this checkout's code
    # whatever the path says: drop it so that `tree`'s own code is what runs.
    sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in repr(f)]
    sys.path.insert(0, str(tree))
    os.chdir(tree)
    import django

    django.setup()
    import lifecycle

    if not Path(lifecycle.__path__[0]).resolve().is_relative_to(tree):
        raise SystemExit(f"lifecycle imports from {lifecycle.__path__[0]}, not from {tree}")


def _events_indexes(cursor) -> list[tuple[str, str, bool]]:
    """(name, definition, is_constraint) of the events table's secondary indexes."""
    cursor.execute(
        """
        SELECT i.relname, pg_get_indexdef(i.oid), c.conname IS NOT NULL,
               pg_get_constraintdef(c.oid)
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        LEFT JOIN pg_constraint c ON c.conindid = i.oid
        WHERE x.indrelid = 'catalog_servingevent'::regclass AND NOT x.indisprimary
        """
    )
    return [
        (name, constraint_def if is_constraint else index_def, is_constraint)
        for name, index_def, is_constraint, constraint_def in cursor.fetchall()
    ]


def bench_load(args: argparse.Namespace) -> None:
    django_setup(args.database, HERE, create=True)
    from django.core.management import call_command
    from django.db import connection, transaction

    from ingestion.rollups import rollups_rebuild
    from lifecycle.catalog.models import ServingEvent

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    if not ServingEvent.objects.exists():
        print("seeding the demo portfolio ...", flush=True)
        call_command("seed_demo", allow_production=True, days=args.days, verbosity=1)
    seeded = ServingEvent.objects.count()
    copies = max(0, -(-args.events // seeded) - 1)
    print(
        f"  {seeded:,} demo events in {time.perf_counter() - started:.0f} s; "
        f"{copies} copies of each to reach {args.events:,}  [{load_average()}]",
        flush=True,
    )
    with connection.cursor() as cursor:
        indexes = _events_indexes(cursor)
        for name, _, is_constraint in indexes:
            if is_constraint:
                cursor.execute(f'ALTER TABLE catalog_servingevent DROP CONSTRAINT "{name}"')
            else:
                cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute('SELECT max("timestamp"), max(id) FROM catalog_servingevent')
        end, last_original = cursor.fetchone()
    started = time.perf_counter()
    remaining = args.events - seeded
    for copy in range(1, copies + 1):
        take = min(seeded, remaining)
        if take <= 0:
            break
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")
            cursor.execute(
                """
                INSERT INTO catalog_servingevent (
                    event_id, "timestamp", received_at, model_id, team_id,
                    model_version_id, endpoint_id, status, error_type, latency_ms,
                    caller, features, prediction, cost_usd, pushed_by_id)
                SELECT e.event_id || '~' || %(copy)s,
                       LEAST(e."timestamp" + (random() * 2 - 1) * interval '1 minute', %(end)s),
                       e.received_at, e.model_id, e.team_id, e.model_version_id,
                       e.endpoint_id, e.status, e.error_type,
                       e.latency_ms * (0.8 + 0.4 * random()), e.caller, NULL,
                       e.prediction, e.cost_usd, NULL
                FROM catalog_servingevent e
                WHERE e.id <= %(last_original)s
                ORDER BY e.id
                LIMIT %(take)s
                """,
                {"copy": copy, "end": end, "take": take, "last_original": last_original},
            )
        remaining -= take
        if copy % 10 == 0 or remaining <= 0:
            done = args.events - remaining
            rate = (done - seeded) / (time.perf_counter() - started)
            print(
                f"  {done:,} events ({rate:,.0f} rows/s)  [{load_average()}]",
                flush=True,
            )
    print(f"  copied in {time.perf_counter() - started:.0f} s; building indexes", flush=True)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '1GB'")
        for name, definition, is_constraint in indexes:
            if is_constraint:
                cursor.execute(
                    f'ALTER TABLE catalog_servingevent ADD CONSTRAINT "{name}" {definition}'
                )
            else:
                cursor.execute(definition)
        cursor.execute("ANALYZE catalog_servingevent")
    print(f"  indexes in {time.perf_counter() - started:.0f} s  [{load_average()}]", flush=True)
    started = time.perf_counter()
    hours = rollups_rebuild()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"  rolled up {hours:,} version-hours in {time.perf_counter() - started:.0f} s"
        f"  [{load_average()}]",
        flush=True,
    )


def _urls(model: str, dataset: str) -> list[tuple[str, str]]:
    """(kind, url) of every page and every KPI API."""
    pages = [
        "/?window=30d",
        "/?window=7d",
        "/monitoring/?window=30d",
        f"/monitoring/models/{model}/?window=7d",
        f"/monitoring/models/{model}/?window=30d",
        "/deployment/?window=7d",
        "/deployment/?window=30d",
        f"/deployment/models/{model}/timeline/?window=30d",
        "/deployment/registries/",
        "/value/?window=30d",
        "/development/?window=30d",
        f"/development/models/{model}/",
        "/data/",
        f"/data/{dataset}/",
    ]
    apis = [
        "/api/v1/kpis/portfolio/?window=30d",
        "/api/v1/kpis/portfolio/?window=7d",
        f"/api/v1/kpis/models/{model}/?window=30d",
        "/api/v1/kpis/deployment/?window=30d",
        "/api/v1/kpis/value/?window=30d",
    ]
    return [("page", u) for u in pages] + [("api", u) for u in apis]


def _time_url(client, url: str, args: argparse.Namespace) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    started = time.perf_counter()
    response = client.get(url)
    warm_up_s = time.perf_counter() - started
    if response.status_code == 404:
        return {"url": url, "status": 404}
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}: {response.content[:300]!r}")
    n = args.requests if warm_up_s < args.slow_seconds else args.slow_requests
    times, queries = [], 0
    for _ in range(n):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        queries = len(captured.captured_queries)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return {
        "url": url,
        "status": 200,
        "requests": n,
        "p50_ms": round(statistics.median(times)),
        "p95_ms": round(p95),
        "queries": queries,
    }


def bench_measure(args: argparse.Namespace) -> None:
    tree = Path(args.tree).resolve()
    django_setup(args.database, tree, create=False)
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db.models import Sum
    from django.test import Client

    from lifecycle.catalog.models import Dataset, Role, ServingEvent, ServingRollup, Team
    from lifecycle.catalog.tokens import api_token_create

    # The busiest model from the rollups, not a count over tens of millions of events.
    model = args.model or (
        ServingRollup.objects.values("model__name")
        .annotate(inferences=Sum("inferences"))
        .order_by("-inferences")
        .values_list("model__name", flat=True)
        .first()
    )
    dataset = args.dataset or Dataset.objects.order_by("name").values_list("name", flat=True)[0]
    call_command("collectstatic", interactive=False, verbosity=0)
    user, _ = get_user_model().objects.get_or_create(
        username="read-bench", defaults={"is_staff": True, "is_superuser": True}
    )
    pages = Client()
    pages.force_login(user)
    _, key = api_token_create(team=Team.objects.order_by("pk").first(), role=Role.ADMIN)
    apis = Client(HTTP_AUTHORIZATION=f"Token {key}")
    events = ServingEvent.objects.count()
    commit = os.popen(f"git -C {tree} rev-parse --short HEAD").read().strip()
    print(
        f"tree {tree} ({commit}), {events:,} events, model {model}, dataset {dataset}; "
        f"load average {load_average()}",
        flush=True,
    )
    results = []
    for kind, url in _urls(model, dataset):
        row = _time_url(pages if kind == "page" else apis, url, args)
        row.update(kind=kind, load_average=load_average())
        results.append(row)
        if row["status"] == 404:
            print(f"{url:58} not in this tree", flush=True)
        else:
            print(
                f"{url:58} p50 {row['p50_ms']:>7} ms  p95 {row['p95_ms']:>7} ms  "
                f"{row['queries']:>4} queries  ({row['requests']} requests)  "
                f"[{row['load_average']}]",
                flush=True,
            )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "tree": str(tree),
                    "commit": commit,
                    "events": events,
                    "measured_at": datetime.now(UTC).isoformat(),
                    "results": results,
                },
                indent=2,
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="kpiboard_read_bench")
    sub = parser.add_subparsers(dest="bench", required=True)
    load = sub.add_parser("load", help="seed the demo and copy its events up to --events")
    load.add_argument("--events", type=int, default=50_000_000)
    load.add_argument("--days", type=int, default=30)
    measure = sub.add_parser("measure", help="time every page and KPI API")
    measure.add_argument("--tree", default=str(HERE), help="checkout whose code answers")
    measure.add_argument("--requests", type=int, default=20)
    measure.add_argument("--slow-seconds", type=float, default=5.0)
    measure.add_argument("--slow-requests", type=int, default=2)
    measure.add_argument("--model", help="model of the per-model pages (default: busiest)")
    measure.add_argument("--dataset", help="dataset of the dataset page (default: first)")
    measure.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    {"load": bench_load, "measure": bench_measure}[args.bench](args)


if __name__ == "__main__":
    main()
