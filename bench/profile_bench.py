"""Dataset profiling benchmark: profile a large CSV of 20 columns in one streaming pass and
compare with a plain `pandas.read_csv` of the same file (time, peak RSS, rows per second).

    .venv/bin/python bench/profile_bench.py               # makes a 1 GB CSV under var/bench
    .venv/bin/python bench/profile_bench.py --size-mb 100 # a quicker run
    .venv/bin/python bench/profile_bench.py --file my.csv # your own file

Each measurement runs in its own process so its peak RSS is its own. Results go to stdout
as a table and as JSON (--json). Figures and conditions are in bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
ROWS_PER_CHUNK = 200_000


def _chunk(rng: np.random.Generator, start: int, n: int) -> pd.DataFrame:
    """20 columns: 11 numeric, 3 categorical, 2 datetime, a boolean, free text, an image
    reference and an augmented flag; a few percent missing here and there."""
    frame = pd.DataFrame(
        {
            "event_time": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(np.arange(start, start + n), unit="s"),
            "signup_date": pd.Timestamp("2020-01-01")
            + pd.to_timedelta(rng.integers(0, 1500, n), unit="D"),
            "customer_id": rng.integers(0, 5_000_000, n),
            "amount": rng.lognormal(3, 1, n).round(2),
            "balance": rng.normal(2_000, 700, n).round(2),
            "age": rng.integers(18, 90, n),
            "score_1": rng.random(n),
            "score_2": rng.normal(0, 1, n),
            "score_3": rng.exponential(2, n),
            "items": rng.poisson(3, n),
            "discount": rng.choice([0.0, 0.05, 0.1, 0.2], n),
            "latitude": rng.uniform(-60, 70, n).round(5),
            "longitude": rng.uniform(-180, 180, n).round(5),
            "country": rng.choice(["DE", "FR", "US", "GB", "IN", "BR", "JP"], n),
            "channel": rng.choice(["web", "app", "store"], n),
            "merchant_category": rng.choice([f"mcc_{i}" for i in range(40)], n),
            "is_fraud": rng.random(n) < 0.02,
            "comment": np.where(rng.random(n) < 0.3, "customer asked for a refund quickly", ""),
            "receipt_image": [f"s3://receipts/{i}.jpg" for i in range(start, start + n)],
            "augmented": (rng.random(n) < 0.1).astype(int),
        }
    )
    for column in ("amount", "balance", "country"):
        frame.loc[rng.random(n) < 0.03, column] = None
    return frame


def csv_make(path: Path, size_bytes: int) -> int:
    """Write chunks until the file reaches size_bytes; returns the rows written."""
    rng = np.random.default_rng(42)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    with open(path, "w", newline="") as handle:
        while handle.tell() < size_bytes:
            _chunk(rng, rows, ROWS_PER_CHUNK).to_csv(handle, index=False, header=rows == 0)
            rows += ROWS_PER_CHUNK
    return rows


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def measure(what: str, path: Path) -> dict:
    """Runs in the child process."""
    start = time.perf_counter()
    if what in ("profile", "imports"):
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kpiboard.settings")
        import django

        django.setup()
        import pyarrow.csv  # noqa: F401 - loaded by the profile anyway; counted in "imports"
        import scipy.stats  # noqa: F401

        from ingestion.profiling import Limits, file_profile

        if what == "imports":
            return {
                "what": what,
                "rows": 0,
                "seconds": 0,
                "rows_per_second": 0,
                "peak_rss_mb": round(_peak_rss_mb()),
            }
        limits = Limits.from_settings()
        limits = Limits(
            **{**limits.__dict__, "max_bytes": 1 << 40, "max_decompressed_bytes": 1 << 40}
        )
        start = time.perf_counter()
        profile = file_profile(path=path, name=path.name, limits=limits)
        rows = profile["rows"]
    elif what == "read_csv":
        rows = len(pd.read_csv(path))
    else:
        raise SystemExit(f"unknown measurement {what!r}")
    seconds = time.perf_counter() - start
    return {
        "what": what,
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_second": round(rows / seconds),
        "peak_rss_mb": round(_peak_rss_mb()),
    }


def _child(what: str, path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--measure", what, "--file", str(path)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", type=Path, help="profile this CSV instead of a generated one")
    parser.add_argument("--size-mb", type=int, default=1024, help="size of the generated CSV")
    parser.add_argument(
        "--measure", choices=["imports", "profile", "read_csv"], help=argparse.SUPPRESS
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--skip-pandas", action="store_true")
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.file)))
        return
    path = args.file
    if path is None:
        path = ROOT / "var" / "bench" / f"profile_{args.size_mb}mb.csv"
        if not path.exists() or path.stat().st_size < args.size_mb * 1024**2:
            started = time.perf_counter()
            rows = csv_make(path, args.size_mb * 1024**2)
            print(
                f"made {path} ({rows:,} rows) in {time.perf_counter() - started:.0f} s",
                file=sys.stderr,
            )
    load_before = os.getloadavg()
    # "imports": the profiling process before it reads a byte (Django, pandas, pyarrow,
    # scipy), so the profile's own memory is its peak minus this.
    results = [_child("imports", path), _child("profile", path)]
    if not args.skip_pandas:
        results.append(_child("read_csv", path))
    load_after = os.getloadavg()
    report = {
        "file": str(path),
        "bytes": path.stat().st_size,
        "cpus": os.cpu_count(),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in load_after],
        "results": results,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(
        f"{path.name}: {report['bytes'] / 1024**2:,.0f} MiB, {results[1]['rows']:,} rows; "
        f"load average before {report['load_before']}, after {report['load_after']}"
    )
    print(f"{'':10} {'seconds':>8} {'rows/s':>10} {'peak RSS MiB':>13}")
    for r in results:
        print(
            f"{r['what']:10} {r['seconds']:>8} {r['rows_per_second']:>10,} {r['peak_rss_mb']:>13,}"
        )


if __name__ == "__main__":
    main()
