"""Open an uploaded file as a stream of Arrow record batches, refusing what it must.

Checks, in order: the file is not empty and not over the size limit; its content is what
it claims (Parquet magic, gzip magic, or text for CSV); a Parquet footer's row and column
counts and declared uncompressed size are within limits before anything is read; while
reading, decompressed bytes are counted and reading stops once past the limit.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
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
# The header is read whole (however long its line) to count its columns before Arrow
# parses anything; no real header of DATASET_MAX_COLUMNS names comes near this.
HEADER_MAX_BYTES = 16 * 1024 * 1024
# Python's csv refuses fields over 128 KiB by default; Arrow reads any field that fits in
# memory, so the Python scans (header, ragged-row search) allow as much as a block.
CSV_FIELD_MAX_BYTES = CSV_BLOCK_BYTES
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
        except (OSError, EOFError, zlib.error) as exc:
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
        except (OSError, EOFError, zlib.error) as exc:
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
    header = _header_read(
        path=path,
        gzipped=gzipped,
        name=name,
        delimiter=delimiter,
        limits=limits,
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


def _binary_open(path: Path, *, gzipped: bool) -> BinaryIO:
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


def _header_read(
    *, path: Path, gzipped: bool, name: str, delimiter: str, limits: Limits
) -> list[str]:
    """The column names of the first record, however long its line: the columns are
    counted while the bytes are read, so a header over the limit is refused before it is
    held, parsed, or seen by Arrow."""
    quote, sep, newline = ord('"'), ord(delimiter) if ord(delimiter) < 128 else -1, ord("\n")
    columns, quoted, size = 1, False, 0
    parts: list[bytes] = []
    try:
        with _binary_open(path, gzipped=gzipped) as handle:
            while True:
                chunk = handle.read(SNIFF_BYTES)
                if not chunk:
                    break
                end = None
                for match in _HEADER_TOKENS.finditer(chunk):
                    byte = match.group()[0]
                    if byte == quote:
                        quoted = not quoted
                    elif quoted:
                        continue
                    elif byte == newline:
                        end = match.start()
                        break
                    elif byte == sep:
                        columns += 1
                if columns > limits.max_columns:
                    raise TooLarge(
                        f"{name} has more than {limits.max_columns:,} columns in its header, "
                        "the limit."
                    )
                parts.append(chunk if end is None else chunk[:end])
                size += len(parts[-1])
                if end is not None:
                    break
                if size > HEADER_MAX_BYTES:
                    raise TooLarge(
                        f"{name}'s header line is over {_fmt_bytes(HEADER_MAX_BYTES)}, the limit."
                    )
    except (OSError, EOFError, zlib.error) as exc:
        raise Unreadable(f"{name} is not a valid gzip file: {exc}") from exc
    try:
        text = b"".join(parts).decode("utf-8").rstrip("\r")
    except UnicodeDecodeError as exc:
        raise WrongType(
            f"{name} is not a UTF-8 CSV file: {exc.reason} at byte {exc.start}."
        ) from exc
    try:
        with _csv_fields_allowed():
            header = next(csv.reader([text], delimiter=delimiter), [])
    except csv.Error as exc:
        raise Unreadable(f"{name}, line 1 (the header): {exc}.") from exc
    if len(header) > limits.max_columns:
        raise TooLarge(
            f"{name} has {len(header):,} columns, over the {limits.max_columns:,} limit."
        )
    return header


_HEADER_TOKENS = re.compile(rb'["\n,;\t|]')


@contextmanager
def _csv_fields_allowed() -> Iterator[None]:
    """Python's csv field limit raised to what Arrow reads, for one scan. The limit is
    process-wide: a concurrent scan sees the larger one too, never less than 128 KiB, and
    a field past it is reported, not crashed on."""
    previous = csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_MAX_BYTES))
    try:
        yield
    finally:
        csv.field_size_limit(previous)


_CONVERSION = re.compile(r"In CSV column #(\d+): CSV conversion error")
_INVALID_UTF8 = "invalid UTF8"


def _utf8_error(*, path: Path, gzipped: bool, name: str) -> Unreadable:
    """Where the file stops being UTF-8 (line and byte), read once in a stream: Arrow
    says only that a column holds invalid UTF-8 somewhere."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = lines = 0
    with _binary_open(path, gzipped=gzipped) as handle:
        while chunk := handle.read(SNIFF_BYTES):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                # The decoder may still hold up to 3 bytes of the previous chunk.
                pending = len(decoder.getstate()[0]) if exc.start == 0 else 0
                at = max(exc.start - pending, 0)
                line = lines + chunk.count(b"\n", 0, at) + 1
                return Unreadable(
                    f"{name}, line {line:,} (byte {offset + at:,}): not UTF-8 ({exc.reason})."
                )
            lines += chunk.count(b"\n")
            offset += len(chunk)
    return Unreadable(f"{name} holds text that is not UTF-8.")


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
            if match and _INVALID_UTF8 in str(exc):
                # Reading it again as strings cannot help: the bytes are not text.
                raise _utf8_error(path=path, gzipped=gzipped, name=name) from exc
            if match:
                column = header[int(match.group(1))]
                if as_strings.get(column) == pa.string():
                    raise Unreadable(f"{name}, column {column!r}: {exc}") from exc
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
    with (
        opener(path, "rt", encoding="utf-8", errors="replace", newline="") as handle,
        _csv_fields_allowed(),
    ):
        reader = csv.reader(handle, delimiter=delimiter)
        expected = None
        try:
            for row in reader:
                if expected is None:
                    expected = len(row)
                    continue
                if row and len(row) != expected:
                    return RaggedRow(
                        f"{name}, line {reader.line_num}: {len(row)} fields where the header "
                        f"has {expected}."
                    )
        except csv.Error as exc:
            return RaggedRow(f"{name}, line {reader.line_num + 1}: {exc}.")
    return None
