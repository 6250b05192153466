"""Serving-log files in: JSON lines or CSV, optionally gzipped, read in chunks.

Each chunk's events and the file's new offset are committed in one transaction, so a
reader killed at any moment resumes at the last committed line and reads no line twice.
Bad lines go to a rejects file (file:line, reason, the line itself) and the good lines
of the same chunk are kept.
"""

from __future__ import annotations

import csv
import gzip
import logging
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import IO, Any

from django.db import connection, transaction
from django.utils import timezone

from ingestion.events import PreparedEvent, events_copy_text, events_store, events_validate
from ingestion.models import LogFileOffset
from ingestion.scheduling import rollups_schedule
from ingestion.unseen import UnseenNames
from lifecycle.catalog.jsonbody import json_parse

logger = logging.getLogger(__name__)

SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv")
CHUNK_LINES = 10_000
_NUMBER_COLUMNS = ("latency_ms", "cost_usd")
_SCAN_LOCK_KEY = 0x6B7066  # one folder scan at a time on PostgreSQL


def is_log_file(path: Path) -> bool:
    name = path.name.lower().removesuffix(".gz")
    return name.endswith(SUFFIXES) and not name.startswith(".")


@dataclass
class FileSummary:
    path: str
    lines: int = 0
    accepted: int = 0
    repeats: int = 0
    rejected: int = 0
    resumed_at_line: int = 0

    def __str__(self) -> str:
        resumed = f" (resumed after line {self.resumed_at_line})" if self.resumed_at_line else ""
        return (
            f"{self.path}: {self.lines} lines read{resumed}, {self.accepted} stored, "
            f"{self.repeats} repeats, {self.rejected} rejected"
        )


def _csv_row(header: list[str], line: str) -> dict[str, Any]:
    values = next(csv.reader([line]))
    if len(values) != len(header):
        raise ValueError(f"{len(values)} columns where the header has {len(header)}")
    row: dict[str, Any] = {}
    for name, value in zip(header, values, strict=True):
        if value == "":
            continue  # an empty cell is an absent field
        if name in _NUMBER_COLUMNS:
            row[name] = float(value)
        elif name == "features":
            row[name] = json_parse(value)
        elif name == "prediction":
            try:
                row[name] = float(value)
            except ValueError:
                row[name] = value
        else:
            row[name] = value
    return row


def _open(path: Path) -> IO[bytes]:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb")


def _lines(stream: IO[bytes], *, offset: int, whole_tail: bool) -> Iterator[tuple[int, bytes]]:
    """(offset after the line, line) from `offset` on. A last line without a newline is a
    line still being written, left for the next scan, unless `whole_tail`."""
    if offset:
        # On a gzip file this decompresses up to there: gzip has no random access.
        stream.seek(offset)
    position = offset
    for line in stream:
        if not line.endswith(b"\n") and not whole_tail:
            return
        position += len(line)
        yield position, line


class _Rejects:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def write(self, source: str, line_number: int, reason: str, line: str) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
        self._file.write(f"{source}:{line_number}: {reason}\t{line.rstrip()}\n")

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def rejects_path_for(path: Path, rejects_dir: Path | None = None) -> Path:
    folder = rejects_dir or path.parent
    return folder / f"{path.name}.rejects"


class _Writer:
    """Commits prepared chunks one after the other. On PostgreSQL, outside any open
    transaction, it does so in a thread of its own, so the database writes one chunk
    while the reader parses and checks the next (psycopg2 lets go of the GIL while it
    waits). One chunk at most is in flight: memory stays flat and the order holds."""

    def __init__(self) -> None:
        threaded = connection.vendor == "postgresql" and not connection.in_atomic_block
        self._pool = ThreadPoolExecutor(max_workers=1) if threaded else None
        self._pending: Future | None = None

    def submit(self, fn: Callable[[], None]) -> None:
        self.wait()
        if self._pool is None:
            fn()
        else:
            self._pending = self._pool.submit(fn)

    def wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()  # re-raises what went wrong in the thread

    def close(self) -> None:
        try:
            self.wait()
        finally:
            if self._pool is not None:
                # A lambda, so `connection` is looked up in the thread: its own connection.
                self._pool.submit(lambda: connection.close()).result()
                self._pool.shutdown()


def log_file_ingest(
    *,
    path: Path,
    rejects_path: Path | None = None,
    whole_tail: bool = True,
    chunk_lines: int = CHUNK_LINES,
    progress: Callable[[int], None] | None = None,
    after_chunk: Callable[[int], None] | None = None,
) -> FileSummary:
    """Read `path` from where it was last left; returns what this run did.

    `progress` gets the bytes of the file consumed so far; `after_chunk` is called with
    the last line number after each committed chunk.
    """
    key = str(path.resolve())
    size = path.stat().st_size
    state, _ = LogFileOffset.objects.get_or_create(path=key)
    summary = FileSummary(path=str(path), resumed_at_line=state.line)
    if path.name.lower().endswith(".gz") and state.source_size == size:
        return summary  # read to its end before; a gzip file is not appended to
    if not path.name.lower().endswith(".gz") and size < state.offset:
        logger.warning("%s shrank below the offset read; reading it again from the start", path)
        state.offset = state.line = 0
        summary.resumed_at_line = 0
    rejects = _Rejects(rejects_path or rejects_path_for(path))
    is_csv = path.name.lower().removesuffix(".gz").endswith(".csv")
    line_number = state.line
    writer = _Writer()
    try:
        with _open(path) as stream:
            header: list[str] | None = None
            if is_csv:
                first = stream.readline()
                header = next(csv.reader([first.decode("utf-8-sig")]))
                header = [h.strip() for h in header]
                if state.offset == 0:
                    state.offset, line_number = len(first), 1
            chunk: list[tuple[int, str]] = []
            end_offset = state.offset
            for end_offset, raw in _lines(stream, offset=state.offset, whole_tail=whole_tail):
                line_number += 1
                chunk.append((line_number, raw.decode("utf-8", errors="replace")))
                if len(chunk) >= chunk_lines:
                    prepared = _chunk_prepare(chunk, end_offset, header, rejects, path)
                    writer.submit(partial(_chunk_store, state, prepared, summary))
                    chunk = []
                    if progress:
                        progress(_compressed_position(stream))
                    if after_chunk:
                        writer.wait()
                        after_chunk(line_number)
            if chunk:
                prepared = _chunk_prepare(chunk, end_offset, header, rejects, path)
                writer.submit(partial(_chunk_store, state, prepared, summary))
            writer.wait()
            if path.name.lower().endswith(".gz"):
                LogFileOffset.objects.filter(pk=state.pk).update(source_size=size)
            if progress:
                progress(_compressed_position(stream))
    finally:
        writer.close()
        rejects.close()
    return summary


def _compressed_position(stream: IO[bytes]) -> int:
    raw = getattr(stream, "fileobj", None)  # a GzipFile reports the compressed bytes read
    return (raw or stream).tell()


@dataclass
class _Prepared:
    events: list[PreparedEvent]
    rejected: int
    lines: int
    end_offset: int
    last_line: int
    received_at: datetime
    copy_text: str | None
    unseen: UnseenNames


def _chunk_prepare(
    chunk: list[tuple[int, str]],
    end_offset: int,
    header: list[str] | None,
    rejects: _Rejects,
    path: Path,
) -> _Prepared:
    """Parse and check a chunk; its bad lines go to the rejects file at once."""
    rows: list[Any] = []
    numbers: list[int] = []
    texts: list[str] = []
    rejected = 0
    # json_parse refuses what json.loads lets through (NaN, lone surrogates, nesting deep
    # enough to raise RecursionError): each such line is a reject, not a failed chunk.
    loads = json_parse
    for number, text in chunk:
        if not text.strip():
            continue
        try:
            row = _csv_row(header, text) if header is not None else loads(text)
        except (ValueError, StopIteration) as error:
            rejects.write(str(path), number, f"unreadable line: {error}", text)
            rejected += 1
            continue
        rows.append(row)
        numbers.append(number)
        texts.append(text)
    batch = events_validate(rows=rows, principal=None)
    reasons: dict[int, list[str]] = {}
    for error in batch.errors:
        reasons.setdefault(error.index, []).append(f"{error.field or 'line'}: {error.reason}")
    for index, why in sorted(reasons.items()):
        rejects.write(str(path), numbers[index], "; ".join(why), texts[index])
        rejected += 1
    # Rejects reach the disk before the offset commits: after a crash a reject may be
    # written twice, but never lost.
    rejects.flush()
    received_at = timezone.now()
    # Events waiting for a version or endpoint to be registered have no ids to render yet.
    copy_text = (
        events_copy_text(batch.events, received_at)
        if connection.vendor == "postgresql" and not batch.unseen
        else None
    )
    return _Prepared(
        batch.events,
        rejected,
        len(chunk),
        end_offset,
        chunk[-1][0],
        received_at,
        copy_text,
        batch.unseen,
    )


def _chunk_store(state: LogFileOffset, prepared: _Prepared, summary: FileSummary) -> None:
    """The chunk's events and the file's new offset, in one transaction."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Safe without waiting for the disk: a crash loses this chunk's rows and its
            # offset together, and the next run reads the chunk again.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
        accepted = events_store(
            events=prepared.events,
            received_at=prepared.received_at,
            copy_text=prepared.copy_text,
            unseen=prepared.unseen,
        )
        state.offset = prepared.end_offset
        state.line = prepared.last_line
        state.accepted += accepted
        state.repeats += len(prepared.events) - accepted
        state.rejected += prepared.rejected
        state.save(update_fields=["offset", "line", "accepted", "repeats", "rejected"])
        if accepted:
            rollups_schedule()
    summary.lines += prepared.lines
    summary.accepted += accepted
    summary.repeats += len(prepared.events) - accepted
    summary.rejected += prepared.rejected


def serving_logs_scan(*, folder: Path, rejects_dir: Path | None = None) -> list[FileSummary]:
    """Read what is new in every log file of `folder` (lines still being written wait)."""
    if not folder.is_dir():
        logger.warning("serving-log folder %s does not exist", folder)
        return []
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [_SCAN_LOCK_KEY])
            if not cursor.fetchone()[0]:
                return []  # another scan is running; the next one picks up from there
    try:
        summaries = []
        for path in sorted(p for p in folder.iterdir() if p.is_file() and is_log_file(p)):
            summaries.append(
                log_file_ingest(
                    path=path,
                    rejects_path=rejects_path_for(path, rejects_dir or folder / "rejects"),
                    whole_tail=False,
                )
            )
        return summaries
    finally:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [_SCAN_LOCK_KEY])
