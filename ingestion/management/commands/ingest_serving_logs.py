"""manage.py ingest_serving_logs PATH... : serving-log files (JSON lines, CSV, .gz) in."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from ingestion.logfiles import CHUNK_LINES, is_log_file, log_file_ingest, rejects_path_for


class Command(BaseCommand):
    help = (
        "Read serving-log files (JSON lines or CSV with a header, optionally .gz) into "
        "serving events. A file read before resumes where it stopped; bad lines go to "
        "<file>.rejects (or --rejects-dir) with file:line and the reason."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path, help="Files, or folders of them")
        parser.add_argument("--rejects-dir", type=Path, default=None)
        parser.add_argument("--chunk-lines", type=int, default=CHUNK_LINES)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: object, **options: object) -> None:
        files: list[Path] = []
        for path in options["paths"]:
            if path.is_dir():
                files += sorted(p for p in path.iterdir() if p.is_file() and is_log_file(p))
            elif path.is_file():
                if not is_log_file(path):
                    raise CommandError(
                        f"{path}: not a serving-log file (.jsonl, .ndjson, .json or .csv, "
                        "optionally .gz)"
                    )
                files.append(path)
            else:
                raise CommandError(f"{path}: no such file or folder")
        total = sum(p.stat().st_size for p in files)
        bar = tqdm(
            total=total,
            unit="B",
            unit_scale=True,
            disable=options["no_progress"],
            desc="serving logs",
            file=self.stderr._out,
        )
        totals = {"accepted": 0, "repeats": 0, "rejected": 0}
        done = 0
        try:
            for path in files:
                size = path.stat().st_size

                def progress(position: int, done: int = done, size: int = size) -> None:
                    bar.n = done + min(position, size)
                    bar.refresh()

                rejects = rejects_path_for(path, options["rejects_dir"])
                summary = log_file_ingest(
                    path=path,
                    rejects_path=rejects,
                    chunk_lines=options["chunk_lines"],
                    progress=progress,
                )
                done += size
                bar.n = done
                bar.refresh()
                tqdm.write(str(summary), file=self.stdout._out)
                if summary.rejected:
                    tqdm.write(f"  rejected lines are in {rejects}", file=self.stdout._out)
                for key in totals:
                    totals[key] += getattr(summary, key)
        finally:
            bar.close()
        self.stdout.write(
            f"{len(files)} file(s): {totals['accepted']} events stored, "
            f"{totals['repeats']} repeats, {totals['rejected']} lines rejected."
        )
