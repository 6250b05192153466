"""Damaged or hostile dataset uploads answer a 4xx naming what is wrong, in bounded time,
and store nothing: late invalid UTF-8, a header wider than the limit however long its
line, damaged gzip, fields over Python csv's 128 KiB, non-object JSON, a damaged whylogs
profile. Every file is built here, small."""

from __future__ import annotations

import gzip
import threading
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from ingestion.profiling import file_profile
from ingestion.profiling.errors import ProfileError
from lifecycle.catalog.models import Dataset, DatasetVersion
from lifecycle.dataprep.models import DatasetProfile
from tests.refusals import refused_fields

CORPUS = Path(__file__).parent / "corpus"
URL = "/api/v1/datasets/{}/versions/"
pytestmark = pytest.mark.django_db


def _upload(client, content: bytes, file_name: str = "data.csv", **fields):
    return client.post(
        URL.format("uploads"),
        {"file": SimpleUploadedFile(file_name, content), "team": "risk", **fields},
        format="multipart",
    )


def _nothing_stored() -> bool:
    return not (
        Dataset.objects.exists()
        or DatasetVersion.objects.exists()
        or DatasetProfile.objects.exists()
    )


def _rows(n: int) -> bytes:
    return b"id,word\n" + b"".join(b"%d,hello\n" % i for i in range(n))


def test_invalid_utf8_after_the_first_blocks_is_refused_in_bounded_time(tmp_path):
    # 5 MB of good rows, past Arrow's 2 MiB blocks and the 64 KiB sniffing window.
    good = _rows(400_000)
    path = tmp_path / "late.csv"
    path.write_bytes(good + b"1,caf\xc3\xa9 \xff\n")
    outcome: list[object] = []

    def profile() -> None:
        try:
            file_profile(path=path, name="late.csv")
        except ProfileError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=profile, daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "the profiler is still reading after 60 s"
    (error,) = outcome
    assert error.status == 400
    assert "line 400,002" in error.message and f"byte {len(good) + 8:,}" in error.message


def test_a_header_wider_than_the_limit_is_refused_however_long_its_line(api_as, dana, risk_team):
    names = [f"a_column_with_a_rather_long_name_number_{i:05d}" for i in range(10_000)]
    header = ",".join(names).encode()
    assert len(header) > 64 * 1024
    response = _upload(api_as(dana), header + b"\n" + b",".join([b"1"] * 10_000) + b"\n")
    assert response.status_code == 413, response.json()
    assert "2,000" in refused_fields(response)["file"] and response.json()["code"] == "too_large"
    assert _nothing_stored()


def test_a_delimiter_inside_a_quoted_header_name_is_not_a_column(api_as, dana, risk_team):
    response = _upload(api_as(dana), b'"amount, in USD",merchant\n1,shop\n2,fuel\n')
    assert response.status_code == 201, response.json()
    names = [c["name"] for c in response.json()["profile"]["column_profiles"]]
    assert names == ["amount, in USD", "merchant"]


def test_a_damaged_gzip_stream_is_refused_with_400(api_as, dana, risk_team):
    packed = gzip.compress(_rows(10_000))
    damaged = packed[:10] + b"\xff" * 50 + packed[60:]
    response = _upload(api_as(dana), damaged, "data.csv.gz")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "unreadable"
    assert "gzip" in refused_fields(response)["file"]
    assert _nothing_stored()


def test_a_ragged_row_after_a_field_over_128_kib_is_named_by_its_line(api_as, dana, risk_team):
    content = b"id,note\n1," + b"x" * (200 * 1024) + b"\n2,short,extra\n"
    response = _upload(api_as(dana), content)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "ragged_row"
    assert "line 3" in refused_fields(response)["file"]
    assert _nothing_stored()


def test_a_header_name_over_128_kib_is_read(api_as, dana, risk_team):
    content = b"id," + b"n" * (200 * 1024) + b"\n1,2\n"
    response = _upload(api_as(dana), content)
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("body", ["[1, 2]", "7", '"a profile"', "true", "null"])
def test_a_json_body_that_is_not_an_object_is_refused(api_as, dana, risk_team, body):
    response = api_as(dana).post(URL.format("pushed"), body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert {"body", "profile"} & set(refused_fields(response))
    assert _nothing_stored()


@pytest.mark.parametrize("field", ["team", "version"])
def test_a_json_field_that_is_not_a_string_is_refused(api_as, dana, risk_team, field):
    body = {"profile": {}, "team": "risk", field: ["risk"]}
    response = api_as(dana).post(URL.format("pushed"), body, format="json")
    assert response.status_code == 400, response.content
    assert field in refused_fields(response)
    assert _nothing_stored()


def test_a_whylogs_profile_whose_sketch_crashes_the_reader_is_refused(api_as, dana, risk_team):
    # One byte of a sketch changed: DataSketches then crashes the process reading it.
    profile = bytearray((CORPUS / "whylogs_transactions.bin").read_bytes())
    profile[697] = 228
    response = _upload(api_as(dana), bytes(profile), "damaged.bin")
    assert response.status_code == 415, response.content
    assert response.json()["code"] == "wrong_type"
    assert _nothing_stored()


@pytest.mark.parametrize("number", ["NaN", "Infinity", "1e999"])
def test_a_json_profile_holding_a_number_json_cannot_carry_is_refused(
    api_as, dana, risk_team, number
):
    body = '{"profile": {"rows": ' + number + '}, "team": "risk"}'
    response = api_as(dana).post(URL.format("pushed"), body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert _nothing_stored()


def test_a_json_profile_push_with_a_lone_surrogate_is_refused(api_as, dana, risk_team):
    body = '{"profile": {}, "team": "risk", "version": "\\ud800"}'
    response = api_as(dana).post(URL.format("pushed"), body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert _nothing_stored()
