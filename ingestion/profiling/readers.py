"""Open an uploaded file as a stream of Arrow record batches, refusing what it must.

Checks, in order: the file is not empty and not over the size limit; its content is what
it claims (Parquet magic, gzip magic, or text for CSV); a Parquet footer's row and column
counts and declared uncompressed size are within limits before anything is read; while
reading, decompressed bytes are counted and reading stops once past the limit.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from django.conf import settings

from ingestion.profiling.errors import Bomb, EmptyFile, RaggedRow, TooLarge, Unreadable, WrongType

GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"
SNIFF_BYTES = 64 * 1024
# 2 MiB blocks: Arrow keeps a few in flight, so this bounds most of its memory (4 MiB
# measured 120 MiB of Arrow memory at peak, 2 MiB 80 MiB, at about the same speed).
CSV_BLOCK_BYTES = 2 * 1024 * 1024
PARQUET_BATCH_ROWS = 65_536
DELIMITERS = ",;\t|"
# pandas' default missing-value markers, so a CSV's missing % matches pandas.read_csv.
NULL_VALUES = sorted(pd._libs.parsers.STR_NA_VALUES)


@dataclass(frozen=True)
class Limits:
    """What an upload may be. Defaults can be changed in settings (DATASET_*)."""

    max_bytes: int
    max_decompressed_bytes: int
    max_compression_ratio: float
    max_rows: int
    max_columns: int

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            max_bytes=settings.DATASET_UPLOAD_MAX_BYTES,
            max_decompressed_bytes=settings.DATASET_MAX_DECOMPRESSED_BYTES,
            # Real CSV compresses 3-15x, Parquet's declared sizes rarely 50x; a bomb does
            # 1000x. Ratios are checked only past 16 MiB so tiny files are never refused.
            max_compression_ratio=settings.DATASET_MAX_COMPRESSION_RATIO,
            max_rows=settings.DATASET_MAX_ROWS,
            max_columns=settings.DATASET_MAX_COLUMNS,
        )


RATIO_FLOOR_BYTES = 16 * 1024 * 1024


@dataclass
class Source:
    kind: str  # "csv" | "parquet"
    batches: Iterator[pa.RecordBatch | Restart]
    details: dict


def _fmt_bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return str(n)


class _CountingReader(io.RawIOBase):
    """Decompressed bytes of a gzip file, refusing to go past the limits as it reads."""

    def __init__(self, path: Path, *, compressed_size: int, limits: Limits, name: str) -> None:
        self._inner = gzip.open(path, "rb")  # noqa: SIM115 - closed by close(), as Arrow does
        self._compressed = max(compressed_size, 1)
        self._limits = limits
        self._name = name
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:
        try:
            n = self._inner.readinto(buffer)
        except (OSError, EOFError) as exc:
            raise Unreadable(f"{self._name} is not a valid gzip file: {exc}") from exc
        self.count += n
        limits = self._limits
        if self.count > limits.max_decompressed_bytes:
            raise Bomb(
                f"{self._name} decompresses to more than "
                f"{_fmt_bytes(limits.max_decompressed_bytes)}, the limit."
            )
        if (
            self.count > RATIO_FLOOR_BYTES
            and self.count > limits.max_compression_ratio * self._compressed
        ):
            raise Bomb(
                f"{self._name} is a gzip bomb: {_fmt_bytes(self._compressed)} expand to "
                f"more than {self.count / self._compressed:,.0f} times their size "
                f"(limit {limits.max_compression_ratio:,.0f}x)."
            )
        return n

    def close(self) -> None:
        self._inner.close()
        super().close()


def _head(path: Path, n: int) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(n)


def _tail(path: Path, n: int) -> bytes:
    with open(path, "rb") as handle:
        handle.seek(0, io.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - n))
        return handle.read()


def source_open(
    *,
    path: Path,
    name: str,
    limits: Limits,
    declared: str | None = None,
    delimiter: str | None = None,
) -> Source:
    """Open `path` (uploaded as `name`) for profiling. `declared` is the format the client
    says it sent ("csv" or "parquet"; None: decide from the content and the name)."""
    size = path.stat().st_size
    if size == 0:
        raise EmptyFile(f"{name} is empty (0 bytes).")
    if size > limits.max_bytes:
        raise TooLarge(
            f"{name} is {_fmt_bytes(size)}, over the {_fmt_bytes(limits.max_bytes)} limit."
        )
    head = _head(path, SNIFF_BYTES)
    is_parquet = head.startswith(PARQUET_MAGIC) and _tail(path, 4) == PARQUET_MAGIC
    lowered = name.lower()
    claims_parquet = declared == "parquet" or (declared is None and lowered.endswith(".parquet"))
    if claims_parquet and not is_parquet:
        raise WrongType(f"{name} is not a Parquet file: it lacks the PAR1 header and footer.")
    if is_parquet:
        if declared == "csv":
            raise WrongType(f"{name} was sent as CSV but is a Parquet file.")
        return _parquet_open(path=path, name=name, size=size, limits=limits)
    return _csv_open(path=path, name=name, size=size, head=head, limits=limits, delimiter=delimiter)


def _parquet_open(*, path: Path, name: str, size: int, limits: Limits) -> Source:
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise Unreadable(f"{name} has a damaged Parquet footer: {exc}") from exc
    meta = parquet.metadata
    if meta.num_columns > limits.max_columns:
        raise Bomb(
            f"{name}'s footer claims {meta.num_columns:,} columns, over the "
            f"{limits.max_columns:,} limit."
        )
    if meta.num_rows > limits.max_rows:
        raise Bomb(
            f"{name}'s footer claims {meta.num_rows:,} rows, over the {limits.max_rows:,} limit."
        )
    declared_bytes = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    # Arrow holds at least a byte per cell once decoded, whatever the encoding claims.
    expanded = max(declared_bytes, meta.num_rows * meta.num_columns)
    if expanded > limits.max_decompressed_bytes or (
        expanded > RATIO_FLOOR_BYTES and expanded > limits.max_compression_ratio * size
    ):
        raise Bomb(
            f"{name} is a Parquet bomb: its footer claims {meta.num_rows:,} rows x "
            f"{meta.num_columns:,} columns (at least {_fmt_bytes(expanded)} decoded) in a "
            f"{_fmt_bytes(size)} file."
        )
    if meta.num_rows == 0 or meta.num_columns == 0:
        raise EmptyFile(f"{name} has no rows.")

    def batches() -> Iterator[pa.RecordBatch]:
        decoded = 0
        try:
            for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):
                decoded += batch.nbytes
                if decoded > limits.max_decompressed_bytes:
                    raise Bomb(
                        f"{name} decodes to more than "
                        f"{_fmt_bytes(limits.max_decompressed_bytes)}, the limit."
                    )
                yield batch
        except (pa.ArrowInvalid, OSError) as exc:
            raise Unreadable(f"{name} could not be read as Parquet: {exc}") from exc

    return Source("parquet", batches(), {"row_groups": meta.num_row_groups})


def _sniff_delimiter(text: str) -> str:
    try:
        return csv.Sniffer().sniff(text, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","


def _csv_open(
    *, path: Path, name: str, size: int, head: bytes, limits: Limits, delimiter: str | None
) -> Source:
    gzipped = head.startswith(GZIP_MAGIC)
    if gzipped:
        try:
            with gzip.open(path, "rb") as handle:
                head = handle.read(SNIFF_BYTES)
        except (OSError, EOFError) as exc:
            raise Unreadable(f"{name} is not a valid gzip file: {exc}") from exc
        if not head:
            raise EmptyFile(f"{name} is an empty gzip file.")
    if b"\x00" in head:
        raise WrongType(f"{name} is not a CSV file: it holds binary data.")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the sniffing boundary
            raise WrongType(
                f"{name} is not a UTF-8 CSV file: {exc.reason} at byte {exc.start}."
            ) from exc
        text = head[: exc.start].decode("utf-8")
    if not text.strip():
        raise EmptyFile(f"{name} holds only blank space.")
    if delimiter is None:
        lines = text.splitlines()
        sample = "\n".join(lines[:-1] if len(lines) > 1 else lines)
        delimiter = _sniff_delimiter(sample)
    header = next(csv.reader([text.splitlines()[0]], delimiter=delimiter))
    if len(header) > limits.max_columns:
        raise TooLarge(
            f"{name} has {len(header):,} columns, over the {limits.max_columns:,} limit."
        )
    if len(set(header)) != len(header):
        duplicated = sorted({h for h in header if header.count(h) > 1})
        raise Unreadable(f"{name} repeats column names in its header: {', '.join(duplicated)}.")
    details = {"delimiter": delimiter, "compression": "gzip" if gzipped else None}

    def reopen() -> BinaryIO | str:
        if gzipped:
            return _CountingReader(path, compressed_size=size, limits=limits, name=name)
        return str(path)

    batches = _csv_batches(
        reopen=reopen, path=path, name=name, delimiter=delimiter, header=header, gzipped=gzipped
    )
    return Source("csv", batches, details)


_CONVERSION = re.compile(r"In CSV column #(\d+): CSV conversion error")


def _csv_batches(
    *, reopen, path: Path, name: str, delimiter: str, header: list[str], gzipped: bool
) -> Iterator[pa.RecordBatch | Restart]:
    """Batches of the CSV. Types are inferred from the first block; a column whose later
    values do not fit its type is read again as strings (the caller restarts its
    accumulators when it sees a `Restart`)."""
    as_strings: dict[str, pa.DataType] = {}
    # Parsing is much faster when no value may hold a line break; a file whose quoted
    # values do is read again with them allowed (see the ragged-row branch below).
    multiline = False
    while True:
        try:
            reader = pacsv.open_csv(
                reopen(),
                read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES),
                parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
                convert_options=pacsv.ConvertOptions(
                    null_values=NULL_VALUES,
                    strings_can_be_null=True,
                    column_types=as_strings,
                ),
            )
            yield from reader
            return
        except pa.ArrowInvalid as exc:
            match = _CONVERSION.search(str(exc))
            if match:
                column = header[int(match.group(1))]
                as_strings[column] = pa.string()
                yield Restart(column)
                continue
            if "Expected" in str(exc) and "columns" in str(exc):
                ragged = _ragged_error(path=path, name=name, delimiter=delimiter, gzipped=gzipped)
                if ragged is not None or multiline:
                    raise ragged or RaggedRow(
                        f"{name} has a row with the wrong number of fields."
                    ) from exc
                multiline = True
                yield Restart("")
                continue
            if "Empty CSV file" in str(exc):
                raise EmptyFile(f"{name} is empty.") from exc
            raise Unreadable(f"{name} could not be read as CSV: {exc}") from exc


@dataclass(frozen=True)
class Restart:
    """Sent in the batch stream when the CSV is read again from the start because
    `column` turned out to hold strings: whoever counts must start over."""

    column: str


def _ragged_error(*, path: Path, name: str, delimiter: str, gzipped: bool) -> RaggedRow | None:
    """Find the first line with the wrong number of fields, to name it (only on this error
    path is the file read again, by Python's csv module). None when every row is right:
    then a quoted value held a line break."""
    opener = gzip.open if gzipped else open
    with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        expected = None
        for row in reader:
            if expected is None:
                expected = len(row)
                continue
            if row and len(row) != expected:
                return RaggedRow(
                    f"{name}, line {reader.line_num}: {len(row)} fields where the header "
                    f"has {expected}."
                )
    return None
