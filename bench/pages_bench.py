"""Page benchmark: server time and queries per request of the deployment, timeline,
monitoring and model-health pages, in process, through Django's test client.

    .venv/bin/python bench/pages_bench.py --var-dir /tmp/kpb --seed       # build the demo
    .venv/bin/python bench/pages_bench.py --var-dir /tmp/kpb              # measure it
    .venv/bin/python bench/pages_bench.py --var-dir /tmp/kpb --runs 9 --json

`--var-dir` is the embedded SQLite's directory (KPIBOARD_VAR_DIR): the demo is built
there once (`--seed` runs `seed_demo`, about 233,000 events in 30 days, half a minute)
and measured as often as needed, so two versions of the code can be compared on the same
rows. Each page is asked `--runs` times after one warm-up; the median and the slowest
server time are reported with the queries of the last run. `--model` names the model of
the timeline and model-health pages (default: the one with the most events). Figures
and conditions are in bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _setup(var_dir: str) -> None:
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("CELERY_BROKER_URL", None)
    os.environ["KPIBOARD_VAR_DIR"] = var_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kpiboard.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _seed() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=1)


def _busiest_model() -> str:
    from django.db.models import Count

    from lifecycle.catalog.models import ServingEvent

    row = (
        ServingEvent.objects.values("model__name")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .values_list("model__name", flat=True)
        .first()
    )
    if row is None:
        raise SystemExit("no serving events: build the demo first with --seed")
    return row


def _measure(urls: list[str], runs: int) -> list[dict]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    user, _ = get_user_model().objects.get_or_create(
        username="pages-bench", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    results = []
    for url in urls:
        client.get(url)  # warm-up: caches, first compilation of templates
        times = []
        for _ in range(runs):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
        sql_ms = sum(float(q["time"]) for q in queries.captured_queries) * 1000
        results.append(
            {
                "url": url,
                "median_ms": round(statistics.median(times), 1),
                "max_ms": round(max(times), 1),
                "queries": len(queries.captured_queries),
                "sql_ms": round(sql_ms, 1),
            }
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--var-dir", required=True, help="directory of the SQLite database")
    parser.add_argument("--seed", action="store_true", help="build the demo there first")
    parser.add_argument("--runs", type=int, default=5, help="timed requests per page")
    parser.add_argument("--model", help="model of the timeline and model-health pages")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    _setup(args.var_dir)
    if args.seed:
        _seed()
        return
    model = args.model or _busiest_model()
    urls = [
        "/deployment/?window=7d",
        "/deployment/?window=30d",
        f"/deployment/models/{model}/timeline/?window=30d",
        "/monitoring/?window=30d",
        f"/monitoring/models/{model}/?window=7d",
        f"/monitoring/models/{model}/?window=30d",
    ]
    results = _measure(urls, args.runs)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    if args.json:
        print(json.dumps({"load_average": load, "results": results}, indent=2))
        return
    print(f"load average {load}; median and slowest of {args.runs} runs")
    print(f"{'page':58} {'median ms':>10} {'max ms':>8} {'queries':>8} {'sql ms':>8}")
    for r in results:
        print(
            f"{r['url']:58} {r['median_ms']:>10} {r['max_ms']:>8} {r['queries']:>8} "
            f"{r['sql_ms']:>8}"
        )


if __name__ == "__main__":
    main()
