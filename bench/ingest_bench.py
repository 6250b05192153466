"""Ingestion and KPI benchmarks on PostgreSQL (figures in bench/README.md).

    python bench/ingest_bench.py file --events 5000000
    python bench/ingest_bench.py http --events 200000 --batch 1000
    python bench/ingest_bench.py kpi --events 50000000 --days 30

Each run uses its own database (--database, default kpiboard_bench on the local server),
made and migrated if missing, and empties the serving tables first. Nothing here is a
test: it prints numbers, with the machine's load average beside them, because the
machine may be shared.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from http.client import HTTPConnection
from pathlib import Path

import numpy as np
from benchenv import database_create, load_average, postgres_environ

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODELS = 20
VERSIONS_PER_MODEL = 2
ENDPOINTS = 10
CALLERS = [f"app-{i}" for i in range(12)] + [""]
COLUMNS = (
    'event_id, "timestamp", received_at, model_id, team_id, model_version_id, endpoint_id, '
    "status, error_type, latency_ms, caller, features, prediction, cost_usd"
)


def load() -> str:
    return f"load average {load_average()}"


def setup_django(database: str) -> None:
    postgres_environ(database)
    database_create(database)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def catalog_make() -> dict:
    """20 models (2 versions each) over 4 industries and 4 teams, 10 endpoints."""
    from lifecycle.catalog.models import (
        Endpoint,
        Industry,
        ModelVersion,
        RegisteredModel,
        Team,
    )

    industries = [Industry.objects.get_or_create(name=f"industry-{i}")[0] for i in range(4)]
    teams = [
        Team.objects.get_or_create(name=f"team-{i}", defaults={"business_unit": f"bu-{i % 2}"})[0]
        for i in range(4)
    ]
    endpoints = [Endpoint.objects.get_or_create(name=f"endpoint-{i}")[0] for i in range(ENDPOINTS)]
    versions = []
    for m in range(MODELS):
        model, _ = RegisteredModel.objects.get_or_create(
            name=f"model-{m}",
            defaults={
                "team": teams[m % 4],
                "industry": industries[m % 4],
                "serving_mode": "streaming" if m % 3 else "batch",
                "unit_cost_usd": "0.00010000",
                "sla_latency_p95_ms": 120.0,
                "sla_error_rate": 0.02,
            },
        )
        for v in range(VERSIONS_PER_MODEL):
            version, _ = ModelVersion.objects.get_or_create(
                model=model,
                version=str(v + 1),
                defaults={"registered_at": datetime(2026, 1, 1, tzinfo=UTC)},
            )
            versions.append(version)
    return {
        "versions": [(v.model_id, v.pk, v.model.name, v.version) for v in versions],
        "endpoints": [(e.pk, e.name) for e in endpoints],
        "teams": {v.model_id: v.model.team_id for v in versions},
    }


def serving_tables_empty() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE catalog_servingevent, ingestion_rollupmark, catalog_servingrollup, "
            "catalog_latencyrollup, ingestion_logfileoffset"
        )


class Events:
    """Deterministic synthetic events, produced in chunks of numpy columns."""

    def __init__(self, catalog: dict, *, n: int, start: datetime, days: float, seed: int = 1):
        self.catalog, self.n, self.start, self.days, self.seed = catalog, n, start, days, seed

    def chunks(self, size: int = 200_000):
        rng = np.random.default_rng(self.seed)
        versions = self.catalog["versions"]
        endpoints = self.catalog["endpoints"]
        span = self.days * 86400
        for offset in range(0, self.n, size):
            k = min(size, self.n - offset)
            v = rng.integers(0, len(versions), k)
            # Each chunk is the next slice of time, sorted within: ordered like a log.
            seconds = np.sort(rng.random(k)) * (k / self.n * span)
            failed = rng.random(k) < 0.02
            # Like a real portfolio: each model is served on one endpoint (two models
            # share each endpoint) and called by four of the twelve client apps.
            model = v // VERSIONS_PER_MODEL
            callers = (model + rng.integers(0, 4, k)) % (len(CALLERS) - 1)
            callers[rng.random(k) < 0.05] = len(CALLERS) - 1  # no caller given
            yield {
                "i": np.arange(offset, offset + k),
                "v": v,
                "e": (model // 2) % len(endpoints),
                "t": seconds,
                "failed": failed,
                "latency": np.round(rng.lognormal(3.2, 0.6, k), 3),
                "caller": callers,
                "prediction": np.round(rng.random(k), 4),
                "chunk_start": offset / self.n * span,
            }

    def timestamps(self, c: dict) -> list[str]:
        moments = self.start.timestamp() + c["chunk_start"] + c["t"]
        return [datetime.fromtimestamp(s, UTC).isoformat() for s in moments]

    def json_lines(self):
        versions, endpoints = self.catalog["versions"], self.catalog["endpoints"]
        for c in self.chunks():
            stamps = self.timestamps(c)
            out = []
            for j in range(len(stamps)):
                _, _, model, version = versions[c["v"][j]]
                row = {
                    "event_id": f"ev-{c['i'][j]}",
                    "timestamp": stamps[j],
                    "model": model,
                    "version": version,
                    "endpoint": endpoints[c["e"][j]][1],
                    "caller": CALLERS[c["caller"][j]],
                    "prediction": float(c["prediction"][j]),
                }
                if c["failed"][j]:
                    row.update(status="error", error_type="timeout")
                else:
                    row.update(status="ok", latency_ms=float(c["latency"][j]))
                out.append(json.dumps(row, separators=(",", ":")))
            yield "\n".join(out) + "\n"

    def copy_rows(self, received: str):
        """The same events in COPY text format, ids resolved: what the raw COPY gets."""
        versions, endpoints = self.catalog["versions"], self.catalog["endpoints"]
        teams = self.catalog["teams"]
        for c in self.chunks():
            stamps = self.timestamps(c)
            out = []
            for j in range(len(stamps)):
                model_id, version_id, _, _ = versions[c["v"][j]]
                failed = c["failed"][j]
                out.append(
                    "\t".join(
                        (
                            f"ev-{c['i'][j]}",
                            stamps[j],
                            received,
                            str(model_id),
                            str(teams[model_id]),
                            str(version_id),
                            str(endpoints[c["e"][j]][0]),
                            "error" if failed else "ok",
                            "timeout" if failed else "",
                            "\\N" if failed else repr(float(c["latency"][j])),
                            CALLERS[c["caller"][j]],
                            "\\N",
                            repr(float(c["prediction"][j])),
                            "0.00010000",
                        )
                    )
                )
            yield "\n".join(out) + "\n"


class _Stream(io.RawIOBase):
    """A file-like object over a generator of text, for COPY ... FROM STDIN."""

    def __init__(self, parts):
        self.parts = iter(parts)
        self.buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while not self.buffer:
            try:
                self.buffer = next(self.parts).encode()
            except StopIteration:
                return 0
        n = min(len(target), len(self.buffer))
        target[:n] = self.buffer[:n]
        self.buffer = self.buffer[n:]
        return n


def raw_copy(events: Events, *, spool: Path) -> float:
    """Seconds for PostgreSQL's own COPY of the events (pre-rendered to a file first, so
    only the database's work is timed) into the same indexed table."""
    from django.db import connection

    with spool.open("w") as f:
        for part in events.copy_rows(datetime.now(UTC).isoformat()):
            f.write(part)
    serving_tables_empty()
    with connection.cursor() as cursor, spool.open("rb") as f:
        started = time.perf_counter()
        cursor.cursor.copy_expert(f"COPY catalog_servingevent ({COLUMNS}) FROM STDIN", f)
        connection.commit() if not connection.get_autocommit() else None
        elapsed = time.perf_counter() - started
    spool.unlink()
    return elapsed


def bench_file(args: argparse.Namespace) -> None:
    setup_django(args.database)
    catalog = catalog_make()
    events = Events(catalog, n=args.events, start=datetime(2026, 10, 1, tzinfo=UTC), days=30)
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    path = work / f"serving-{args.events}.jsonl"
    if not path.exists():
        print(f"writing {path} ...", flush=True)
        with path.open("w") as f:
            for part in events.json_lines():
                f.write(part)
    print(f"file: {path.stat().st_size / 1e6:.0f} MB, {args.events:,} lines", flush=True)

    copy_s = raw_copy(events, spool=work / "copy.tsv")
    print(f"raw COPY: {args.events / copy_s:,.0f} rows/s ({copy_s:.1f} s)  [{load()}]", flush=True)

    serving_tables_empty()
    started = time.perf_counter()
    child = subprocess.run(
        [sys.executable, "manage.py", "ingest_serving_logs", str(path), "--no-progress"],
        cwd=ROOT,
        env=os.environ,
        capture_output=True,
        text=True,
    )
    ingest_s = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if child.returncode:
        sys.exit(child.stderr)
    print(child.stdout.strip().splitlines()[-1])
    print(
        f"ingest_serving_logs: {args.events / ingest_s:,.0f} events/s ({ingest_s:.1f} s), "
        f"{ingest_s and copy_s / ingest_s:.2f} of raw COPY; peak RSS {peak_mb:.0f} MB  [{load()}]",
        flush=True,
    )
    if not args.keep:
        path.unlink()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_http(args: argparse.Namespace) -> None:
    setup_django(args.database)
    from lifecycle.catalog.models import Role, Team
    from lifecycle.catalog.tokens import api_token_create

    catalog = catalog_make()
    events = Events(catalog, n=args.events, start=datetime(2026, 10, 1, tzinfo=UTC), days=30)
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    copy_s = raw_copy(events, spool=work / "copy.tsv")
    print(f"raw COPY: {args.events / copy_s:,.0f} rows/s ({copy_s:.1f} s)  [{load()}]", flush=True)
    serving_tables_empty()

    _, key = api_token_create(team=Team.objects.first(), role=Role.ADMIN)
    bodies, batch = [], []
    for part in events.json_lines():
        for line in part.splitlines():
            batch.append(line)
            if len(batch) == args.batch:
                bodies.append(("[" + ",".join(batch) + "]").encode())
                batch = []
    if batch:
        bodies.append(("[" + ",".join(batch) + "]").encode())

    port = args.port or _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "kpiboard.wsgi",
            "--workers",
            str(args.workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "kpiboard.settings"},
    )
    try:
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        queue = list(enumerate(bodies))
        lock = threading.Lock()
        statuses: dict[int, int] = {}

        def client() -> None:
            conn = HTTPConnection("127.0.0.1", port, timeout=120)
            headers = {"Authorization": f"Token {key}", "Content-Type": "application/json"}
            while True:
                with lock:
                    if not queue:
                        break
                    _, body = queue.pop()
                conn.request("POST", "/api/v1/events/", body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                with lock:
                    statuses[response.status] = statuses.get(response.status, 0) + 1
            conn.close()

        threads = [threading.Thread(target=client) for _ in range(args.clients)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    from lifecycle.catalog.models import ServingEvent

    stored = ServingEvent.objects.count()
    print(
        f"HTTP push, {args.batch}-event batches, {args.workers} gunicorn workers, "
        f"{args.clients} clients: {args.events / elapsed:,.0f} events/s ({elapsed:.1f} s), "
        f"{copy_s / elapsed:.2f} of raw COPY; answers {statuses}; stored {stored:,}  [{load()}]",
        flush=True,
    )


def bench_kpi(args: argparse.Namespace) -> None:
    setup_django(args.database)
    from django.db import connection
    from django.test import Client

    from ingestion.rollups import rollups_rebuild
    from lifecycle.catalog.models import Role, ServingEvent, Team
    from lifecycle.catalog.tokens import api_token_create

    catalog = catalog_make()
    # The data end at the minute of loading, like a live system's: the current hour is
    # partly filled, as a request's window end usually finds it.
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    have = ServingEvent.objects.count()
    if have != args.events:
        serving_tables_empty()
        events = Events(
            catalog, n=args.events, start=now - timedelta(days=args.days), days=args.days
        )
        print(f"loading {args.events:,} events over {args.days} days ...", flush=True)
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.cursor.copy_expert(
                f"COPY catalog_servingevent ({COLUMNS}) FROM STDIN",
                io.BufferedReader(_Stream(events.copy_rows(now.isoformat())), 1 << 20),
            )
        print(f"  loaded in {time.perf_counter() - started:.0f} s  [{load()}]", flush=True)
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE catalog_servingevent")
        rollups_rebuild()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE catalog_servingrollup")
            cursor.execute("ANALYZE catalog_latencyrollup")
        print(f"  rolled up in {time.perf_counter() - started:.0f} s  [{load()}]", flush=True)
    _, key = api_token_create(team=Team.objects.first(), role=Role.ADMIN)
    client = Client(HTTP_AUTHORIZATION=f"Token {key}")
    stored = ServingEvent.objects.count()
    first, last = (
        ServingEvent.objects.order_by(order).values_list("timestamp", flat=True).first()
        for order in ("timestamp", "-timestamp")
    )
    moments = {
        "first": first,
        "last": last + timedelta(microseconds=1),  # the end of the data
        "last_minus_30m": last - timedelta(minutes=30),  # events follow the end
    }
    for template in args.queries:
        query = template.format(
            **{k: v.strftime("%Y-%m-%dT%H:%M:%S.%fZ") for k, v in moments.items()}
        )
        timings = []
        for i in range(args.requests + 3):
            started = time.perf_counter()
            response = client.get(f"/api/v1/kpis/portfolio/?{query}")
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, response.content[:500]
            if i >= 3:  # the first requests warm caches and connections
                timings.append(elapsed)
        kpis = {k["id"]: k["value"] for k in response.json()["kpis"]}
        print(
            f"GET /api/v1/kpis/portfolio/?{template} over {stored:,} events: "
            f"p50 {np.percentile(timings, 50):.0f} ms, p95 {np.percentile(timings, 95):.0f} ms "
            f"({args.requests} requests; inferences {kpis['inferences']:,})  [{load()}]",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="kpiboard_bench")
    parser.add_argument("--workdir", default="/tmp/kpiboard-bench")
    sub = parser.add_subparsers(dest="bench", required=True)
    file = sub.add_parser("file", help="log-file ingestion against raw COPY")
    file.add_argument("--events", type=int, default=5_000_000)
    file.add_argument("--keep", action="store_true", help="keep the generated file")
    http = sub.add_parser("http", help="HTTP push end to end against raw COPY")
    http.add_argument("--events", type=int, default=200_000)
    http.add_argument("--batch", type=int, default=1000)
    http.add_argument("--workers", type=int, default=2)
    http.add_argument("--clients", type=int, default=4)
    http.add_argument("--port", type=int, default=0)
    kpi = sub.add_parser("kpi", help="portfolio KPI latency over many stored events")
    kpi.add_argument("--events", type=int, default=50_000_000)
    kpi.add_argument("--days", type=int, default=30)
    kpi.add_argument("--requests", type=int, default=40)
    kpi.add_argument(
        "--queries",
        nargs="+",
        default=[
            "window=30d",
            "window=7d",
            "window=30d&industry=industry-1",
            "window=90d",
            "start={first}&end={last}",
            "start={first}&end={last_minus_30m}",
        ],
        help="query strings; {first}, {last} and {last_minus_30m} become the first event's "
        "time, the end of the data and half an hour before it",
    )
    args = parser.parse_args()
    {"file": bench_file, "http": bench_http, "kpi": bench_kpi}[args.bench](args)


if __name__ == "__main__":
    main()
