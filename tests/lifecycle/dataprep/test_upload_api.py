"""POST /api/v1/datasets/<name>/versions/: uploads, profile pushes, roles, bad input."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from lifecycle.catalog.models import Dataset, DatasetVersion, Role
from lifecycle.dataprep.models import DatasetProfile
from tests import factories
from tests.refusals import refused_fields

CORPUS = Path(__file__).parent / "corpus"
URL = "/api/v1/datasets/{}/versions/"


def _csv(rows: int = 50, *, shift: float = 0.0) -> bytes:
    frame = pd.DataFrame(
        {"amount": [i + shift for i in range(rows)], "merchant": ["shop", "fuel"] * (rows // 2)}
    )
    return frame.to_csv(index=False).encode()


def _upload(client, name: str, content: bytes, file_name: str = "data.csv", **fields):
    return client.post(
        URL.format(name),
        {"file": SimpleUploadedFile(file_name, content), **fields},
        format="multipart",
    )


@pytest.fixture
def transactions(db, risk_team):
    return factories.dataset_make("transactions", team=risk_team)


def test_a_data_team_token_creates_the_dataset_on_first_upload(token_client, risk_team):
    client = token_client(risk_team, Role.DATA_TEAM)
    response = _upload(client, "payments", _csv())
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["dataset"] == "payments" and body["version"] == "1"
    assert body["profile"]["rows"] == 50
    assert body["page"] == "/data/payments/versions/1/"
    dataset = Dataset.objects.get(name="payments")
    assert dataset.team == risk_team
    assert DatasetProfile.objects.get(version__dataset=dataset).rows == 50


def test_the_next_upload_gets_the_next_version_number(api_as, dana, transactions):
    client = api_as(dana)
    assert _upload(client, "transactions", _csv()).json()["version"] == "1"
    assert _upload(client, "transactions", _csv()).json()["version"] == "2"
    assert _upload(client, "transactions", _csv(), version="2024-q3").json()["version"] == (
        "2024-q3"
    )


def test_a_taken_version_name_is_refused_with_409(api_as, dana, transactions):
    client = api_as(dana)
    _upload(client, "transactions", _csv(), version="v1")
    response = _upload(client, "transactions", _csv(), version="v1")
    assert response.status_code == 409
    assert "version" in refused_fields(response)
    assert DatasetVersion.objects.filter(dataset=transactions).count() == 1


def test_a_session_user_must_name_the_team_of_a_new_dataset(api_as, dana, risk_team):
    client = api_as(dana)
    response = _upload(client, "fresh", _csv())
    assert response.status_code == 400 and "team" in refused_fields(response)
    assert _upload(client, "fresh", _csv(), team="risk").status_code == 201


def test_an_executive_may_read_but_not_upload(api_as, alice, transactions):
    client = api_as(alice)
    assert _upload(client, "transactions", _csv()).status_code == 403
    assert client.get(URL.format("transactions")).status_code == 200
    assert not DatasetVersion.objects.exists()


@pytest.mark.parametrize("role", [Role.MLOPS, Role.ADMIN])
def test_mlops_and_admins_may_upload(token_client, risk_team, role):
    assert _upload(token_client(risk_team, role), "x", _csv()).status_code == 201


def test_the_version_is_readable_with_its_profile_and_kpis(api_as, dana, transactions):
    client = api_as(dana)
    _upload(client, "transactions", _csv())
    body = client.get("/api/v1/datasets/transactions/versions/1/").json()
    assert body["profile"]["rows"] == 50
    kpis = {k["id"]: k["value"] for k in body["kpis"]}
    assert kpis["dataset_rows"] == 50
    assert kpis["dataset_completeness_pct"] == 100.0
    assert kpis["dataset_augmented_pct"] is None  # unknown, not zero


@pytest.mark.parametrize(
    ("file_name", "status", "code", "says"),
    [
        ("empty.csv", 400, "empty", "empty"),
        ("header_only.csv", 400, "empty", "no rows"),
        ("ragged.csv", 400, "ragged_row", "line 4: 4 fields where the header has 3"),
        ("image.csv", 415, "wrong_type", "not a CSV"),
        ("not_parquet.parquet", 415, "wrong_type", "not a Parquet file"),
        ("gzip_bomb.csv.gz", 413, "bomb", "gzip bomb"),
        ("parquet_bomb.parquet", 413, "bomb", "20,000,000 rows"),
        ("truncated.csv.gz", 400, "unreadable", "not a valid gzip file"),
    ],
)
def test_each_bad_file_is_refused_clearly_and_nothing_is_stored(
    api_as, dana, transactions, file_name, status, code, says
):
    response = _upload(api_as(dana), "transactions", (CORPUS / file_name).read_bytes(), file_name)
    assert response.status_code == status
    assert response.json()["code"] == code
    assert says in refused_fields(response)["file"]
    assert file_name in refused_fields(response)["file"]
    assert not DatasetVersion.objects.exists()
    assert not DatasetProfile.objects.exists()


def test_a_bad_file_for_a_new_dataset_does_not_create_the_dataset(token_client, risk_team):
    client = token_client(risk_team, Role.DATA_TEAM)
    response = _upload(client, "brand-new", (CORPUS / "ragged.csv").read_bytes(), "ragged.csv")
    assert response.status_code == 400
    assert not Dataset.objects.filter(name="brand-new").exists()


def test_a_file_over_the_size_limit_is_refused_with_413(api_as, dana, transactions, settings):
    settings.DATASET_UPLOAD_MAX_BYTES = 200 * 1024
    response = _upload(api_as(dana), "transactions", b"a,b\n" + b"1,2\n" * 100_000)
    assert response.status_code == 413
    assert "limit" in json.dumps(response.json())
    assert not DatasetVersion.objects.exists()


def test_a_request_saying_it_is_too_long_is_refused_before_it_is_read(
    client, dana, transactions, settings
):
    settings.DATASET_UPLOAD_MAX_BYTES = 1024
    client.force_login(dana)
    body = b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
    response = client.generic(
        "POST",
        URL.format("transactions"),
        data=body,
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(10 * 1024**2),
        wsgi__input=io.BytesIO(body),
    )
    assert response.status_code == 413


def test_a_missing_file_field_is_a_400_naming_it(api_as, dana, transactions):
    response = api_as(dana).post(URL.format("transactions"), {"version": "1"}, format="multipart")
    assert response.status_code == 400 and "file" in refused_fields(response)


def test_an_explicit_delimiter_overrides_the_sniffer(api_as, dana, transactions):
    content = b"a|b\n1|x\n2|y\n"
    body = _upload(api_as(dana), "transactions", content, delimiter=",").json()
    assert body["profile"]["columns"] == 1  # "a|b" read as one column, as asked
    body = _upload(api_as(dana), "transactions", content).json()
    assert body["profile"]["columns"] == 2


def test_a_whylogs_profile_is_mapped_with_unknowns_left_unknown(api_as, dana, transactions):
    content = (CORPUS / "whylogs_transactions.bin").read_bytes()
    response = _upload(api_as(dana), "transactions", content, "profile.bin")
    assert response.status_code == 201, response.json()
    profile = response.json()["profile"]
    assert profile["source"]["kind"] == "whylogs"
    assert profile["rows"] == 2000
    columns = {c["name"]: c for c in profile["column_profiles"]}
    # make_whylogs_bin.py: 50 of 2,000 amounts missing, normal(50, 10).
    assert columns["amount"]["missing"] == 50
    assert columns["amount"]["kind"] == "numeric"
    assert columns["amount"]["numeric"]["mean"] == pytest.approx(49.665333, abs=1e-4)
    assert columns["amount"]["numeric"]["outliers"] is None
    assert columns["merchant"]["kind"] == "categorical"
    assert columns["merchant"]["top_values"][0] == {"value": "shop", "count": 1001}
    assert profile["dataset"]["rows_needing_imputation_pct"] is None
    assert profile["dataset"]["outlier_pct"] is None
    assert profile["dataset"]["completeness_pct"] == pytest.approx(100 * (1 - 150 / 8000))


def test_a_file_that_is_not_a_whylogs_profile_is_refused_with_415(api_as, dana, transactions):
    response = _upload(api_as(dana), "transactions", b"\x00\x01garbage" * 10, "profile.bin")
    assert response.status_code == 415
    assert not DatasetVersion.objects.exists()


def test_a_json_profile_push_is_stored_with_unknowns_filled(api_as, dana, transactions):
    profile = {
        "rows": 100,
        "column_profiles": [
            {"name": "amount", "kind": "numeric", "missing": 10},
            {"name": "note", "kind": "text", "missing": 0},
        ],
        "dataset": {"labeling_shares": {"human": 80, "third_party": 20}},
    }
    response = api_as(dana).post(URL.format("transactions"), {"profile": profile}, format="json")
    assert response.status_code == 201, response.json()
    stored = response.json()["profile"]
    assert stored["source"]["kind"] == "json"
    assert stored["dataset"]["completeness_pct"] == pytest.approx(95.0)
    assert stored["dataset"]["unstructured_share"] == 0.5
    assert stored["dataset"]["augmented_pct"] is None
    assert stored["column_profiles"][0]["missing_pct"] == 10.0


@pytest.mark.parametrize(
    ("profile", "field"),
    [
        ({"column_profiles": [{"name": "a", "kind": "numeric"}]}, "rows"),
        ({"rows": 5, "column_profiles": []}, "column_profiles"),
        (
            {"rows": 5, "column_profiles": [{"name": "a", "kind": "blob"}]},
            "column_profiles[0].kind",
        ),
        (
            {"rows": 5, "column_profiles": [{"name": "a", "kind": "text", "missing": 9}]},
            "column_profiles[0].missing",
        ),
        (
            {
                "rows": 5,
                "column_profiles": [{"name": "a", "kind": "text"}],
                "dataset": {"labeling_shares": {"crowd": 10}},
            },
            "dataset.labeling_shares.crowd",
        ),
    ],
)
def test_a_bad_json_profile_is_a_400_naming_the_field(api_as, dana, transactions, profile, field):
    response = api_as(dana).post(URL.format("transactions"), {"profile": profile}, format="json")
    assert response.status_code == 400
    assert field in refused_fields(response)
    assert not DatasetVersion.objects.exists()


def test_the_raw_file_is_kept_only_when_the_setting_says_so(
    api_as, dana, transactions, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    client = api_as(dana)
    _upload(client, "transactions", _csv())
    assert not DatasetProfile.objects.get(version__version="1").raw_file
    settings.DATASET_KEEP_RAW_FILES = True
    _upload(client, "transactions", _csv(8))
    kept = DatasetProfile.objects.get(version__version="2").raw_file
    assert kept and Path(kept.path).read_bytes() == _csv(8)


def test_a_teams_token_may_not_add_versions_to_another_teams_dataset(
    token_client, growth_team, risk_team, transactions
):
    response = _upload(token_client(growth_team, Role.DATA_TEAM), "transactions", _csv())
    assert response.status_code == 403 and "dataset" in refused_fields(response)
    assert _upload(token_client(growth_team, Role.ADMIN), "transactions", _csv()).status_code == 201
    assert _upload(token_client(risk_team, Role.DATA_TEAM), "transactions", _csv()).status_code == (
        201
    )
