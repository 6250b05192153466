"""Every table of every page, on the demo portfolio: its CSV export has the rows the page
shows, and every name in it links where that name's page (or filtered view) is."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.http import StreamingHttpResponse
from django.test import Client

from lifecycle.catalog.kpis import KPI_DEFINITIONS
from lifecycle.catalog.models import ServingEvent
from tests.kpiboard.site_pages import demo_site_seed, site_page_paths
from tests.shadow_copies import events_frame

# Page -> (table name, the page's table position, the column that names each row).
TABLES = {
    "portfolio": [("models", 0, "Model")],
    "data": [("datasets", 0, "Dataset")],
    "dataset": [("versions", 0, "Version")],
    "dataset version": [("columns", 0, "Column")],
    "dataset diff": [("diff", 0, "Column")],
    "development": [("versions", 0, "Model")],
    "development model": [("runs", 0, "Version")],
    "deployment": [
        ("time_to_deploy_by_model", 0, "Model"),
        ("time_to_deploy_by_team", 1, "Team"),
        ("time_to_deploy_by_industry", 2, "Industry"),
        ("champion_challenger", 3, "Version"),
        ("traffic_split", 4, "Endpoint"),
        ("seen_in_serving", 5, "Name"),
    ],
    "model": [("versions", 0, "Version"), ("endpoints", 1, "Endpoint"), ("callers", 2, "Caller")],
    "model version": [("deployments", 0, "Endpoint")],
    "model endpoint": [("deployments", 0, "Model")],
    "model timeline": [("timeline", 0, "Version")],
    "registries": [("registries", 0, "Name")],
    "registry": [("recent_changes", 0, "Model")],
    "monitoring": [("incidents", 0, "Model")],
    "model health": [("versions", 0, "Version"), ("incidents", 1, "Endpoint")],
    "value": [
        ("business_units", 0, "Business unit"),
        ("teams", 1, "Team"),
        ("callers", 2, "Caller"),
        ("model_costs", 3, "Model"),
    ],
}


class _Tables(HTMLParser):
    """Each <table>: its header texts and its body rows as drawn, a cell being
    (text, href, rowspan, colspan)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict] = []
        self._cell: list[str] | None = None
        self._spans = (1, 1)
        self._href: str | None = None
        self._in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "table":
            self.tables.append({"heads": [], "drawn": []})
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr" and self.tables and not self._in_head:
            self.tables[-1]["drawn"].append([])
        elif tag in ("td", "th"):
            self._cell, self._href = [], None
            self._spans = (int(named.get("rowspan") or 1), int(named.get("colspan") or 1))
        elif tag == "a" and self._cell is not None and self._href is None:
            self._href = named.get("href")

    def handle_endtag(self, tag: str) -> None:
        if tag == "thead":
            self._in_head = False
        elif tag in ("td", "th") and self._cell is not None:
            text = " ".join("".join(self._cell).split())
            if tag == "th":
                self.tables[-1]["heads"].append(text.rstrip(" ▲▼"))
            else:
                self.tables[-1]["drawn"][-1].append((text, self._href, *self._spans))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _grid(drawn: list[list[tuple]]) -> list[list[tuple[str, str | None]]]:
    """The body as a grid, a cell spanning rows or columns repeated in each it covers."""
    grid, carried = [], {}
    for cells in drawn:
        row: list[tuple[str, str | None]] = []
        pending = iter(cells)
        while True:
            if len(row) in carried:
                cell, left = carried.pop(len(row))
                if left > 1:
                    carried[len(row)] = (cell, left - 1)
                row.append(cell)
                continue
            nxt = next(pending, None)
            if nxt is None:
                break
            text, href, rowspan, colspan = nxt
            for _ in range(colspan):
                if rowspan > 1:
                    carried[len(row)] = ((text, href), rowspan - 1)
                row.append((text, href))
        grid.append(row)
    return grid


def page_tables(html: str) -> list[dict]:
    parser = _Tables()
    parser.feed(html)
    for table in parser.tables:
        table["rows"] = _grid(table["drawn"])
    return parser.tables


def named_rows(table: dict, column: str) -> list[tuple[str, str | None]]:
    """The cells of `column`, one per body row; none for a table that shows its 'nothing
    here' row."""
    rows = table["rows"]
    if len(rows) == 1 and len(table["drawn"][0]) == 1 and len(table["heads"]) > 1:
        return []
    at = table["heads"].index(column)
    return [row[at] for row in rows]


def export_rows(client: Client, path: str, table: str) -> tuple[list[str], list[list[str]]]:
    glue = "&" if "?" in path else "?"
    response = client.get(f"{path}{glue}format=csv&table={table}")
    assert response.status_code == 200, (path, table, response.content[:200])
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode()
    header, *rows = list(csv.reader(io.StringIO(text)))
    return header, rows


@pytest.fixture
def site(db, now, client) -> dict[str, str]:
    demo_site_seed(now=now)
    client.force_login(User.objects.get(username="admin"))
    return {name: path for name, path in site_page_paths().items() if name in TABLES}


def test_every_table_exports_the_rows_its_page_shows(client, site, time_machine, now):
    # One moment for the page and its export, so that both read the same window.
    time_machine.move_to(now, tick=False)
    compared = {}
    for page, tables in TABLES.items():
        html_tables = page_tables(client.get(site[page]).content.decode())
        for name, position, column in tables:
            shown = [text for text, _ in named_rows(html_tables[position], column)]
            header, rows = export_rows(client, site[page], name)
            exported = [row[header.index(column)] for row in rows]
            # A name cell may add a badge or a note after the name ("recs-gateway multi-model").
            assert len(shown) == len(exported), (page, name)
            assert all(
                s == e or s.startswith(f"{e} ") for s, e in zip(shown, exported, strict=True)
            ), (
                page,
                name,
            )
            compared[(page, name)] = len(rows)
    assert sum(compared.values()) > 100
    assert all(
        compared[(page, name)] for page, name in [("portfolio", "models"), ("value", "callers")]
    )


def _query(href: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(href).query)


def _expected(column: str, text: str) -> tuple[str, str, str] | None:
    """Where a name in `column` links, written out here: (the path as a pattern, query
    key, value)."""
    name = re.escape(text.split(" ")[0])
    return {
        "Model": (f"/models/{name}/", "", ""),
        "Team": ("/", "team", text.split(" ")[0]),
        "Industry": ("/", "industry", text.split(" ")[0]),
        "Dataset": (f"/data/{name}/", "", ""),
        # A version's or an endpoint's page is its model's: any model's.
        "Version": (f"/models/[^/]+/versions/{name}/", "", ""),
        "Endpoint": (f"/models/[^/]+/endpoints/{name}/", "", ""),
    }.get(column)


def test_every_name_in_a_table_links_to_its_page(client, site):
    checked = 0
    for page, path in site.items():
        if page in ("dataset", "dataset version", "dataset diff", "registries"):
            continue  # versions of one dataset, columns, registries: not catalog names
        for table in page_tables(client.get(f"{path}").content.decode()):
            for column in table["heads"]:
                for text, href in named_rows(table, column):
                    expected = _expected(column, text)
                    if expected is None or not text or text == "(unknown)":
                        continue
                    target, key, value = expected
                    assert href, (page, column, text)
                    assert re.fullmatch(target, urlsplit(href).path), (page, column, href)
                    if key:
                        assert _query(href)[key] == [value], (page, column, href)
                    checked += 1
    assert checked > 100


def test_links_keep_the_pages_window(client, site):
    html = client.get("/?window=24h").content.decode()
    models = page_tables(html)[0]

    for column in ("Model", "Team", "Industry"):
        for _, href in named_rows(models, column):
            assert _query(href)["window"] == ["24h"], href


def test_the_export_applies_the_pages_filters_and_sort(client, site):
    team = page_tables(client.get("/").content.decode())[0]["rows"][0][2][0]
    header, rows = export_rows(client, f"/?team={team}&sort=name", "models")

    names = [row[header.index("Model")] for row in rows]
    assert {row[header.index("Team")] for row in rows} == {team}
    assert names == sorted(names)
    shown = named_rows(
        page_tables(client.get(f"/?team={team}&sort=name").content.decode())[0], "Model"
    )
    assert names == [text for text, _ in shown]


def test_the_download_link_keeps_the_query(client, site):
    html = client.get("/value/?window=24h").content.decode()

    assert 'href="?window=24h&amp;format=csv&amp;table=callers"' in html


def test_a_bad_filter_on_an_export_is_the_pages_400(client, site):
    response = client.get("/?format=csv&window=2y")

    assert response.status_code == 400
    assert "<b>window</b>" in response.content.decode()


def _number(cell: str) -> float | None:
    return float(cell) if cell != "" else None


def _by_name(header: list[str], rows: list[list[str]], key: str = "Model") -> dict[str, dict]:
    return {row[header.index(key)]: dict(zip(header, row, strict=True)) for row in rows}


def _raw_events(start: str, end: str) -> pd.DataFrame:
    """The requests of [start, end): shadow copies, classified here from the shadow
    deployments, are not requests and are left out."""
    columns = ("pk", "model_version_id", "endpoint_id", "timestamp")
    copies = events_frame(columns).query("shadow")["pk"]
    events = ServingEvent.objects.filter(
        timestamp__gte=datetime.fromisoformat(start), timestamp__lt=datetime.fromisoformat(end)
    ).exclude(pk__in=list(copies))
    raw = pd.DataFrame(
        list(
            events.values(
                "model__name",
                "model_version__version",
                "caller",
                "status",
                "cost_usd",
                "model__unit_cost_usd",
            )
        )
    )
    # An event stored without a cost costs its model's unit cost.
    raw["cost"] = raw["cost_usd"].fillna(raw["model__unit_cost_usd"]).astype(float)
    return raw


def test_the_exported_kpis_are_the_apis_and_a_recomputation_from_raw_events(
    client, site, time_machine, now, api_as
):
    time_machine.move_to(now, tick=False)
    api = api_as(User.objects.get(username="admin")).get("/api/v1/kpis/portfolio/").json()
    raw = _raw_events(api["start"], api["end"])
    models = _by_name(*export_rows(client, "/", "models"))

    for row in api["models"]:
        for kpi in row["kpis"]:
            definition = KPI_DEFINITIONS[kpi["id"]]
            cell = models[row["model"]][f"{definition.label} ({definition.unit.value})"]
            assert _number(cell) == (None if kpi["value"] is None else pytest.approx(kpi["value"]))
    assert len(models) == len(api["models"])
    for name, events in raw.groupby("model__name"):
        assert int(models[name]["Inferences (count)"]) == len(events)
        assert float(models[name]["Error rate (fraction)"]) == pytest.approx(
            (events["status"] == "error").mean()
        )
        assert float(models[name]["Serving cost (USD)"]) == pytest.approx(events["cost"].sum())

    costs = _by_name(*export_rows(client, "/value/", "model_costs"))
    expected_costs = raw.groupby("model__name")["cost"].sum()
    assert {name: float(c["Cost (USD)"]) for name, c in costs.items()} == pytest.approx(
        expected_costs.to_dict()
    )
    callers = _by_name(*export_rows(client, "/value/", "callers"), key="Caller")
    expected_calls = raw["caller"].replace("", "(unknown)").value_counts()
    assert {name: int(c["Calls (count)"]) for name, c in callers.items()} == (
        expected_calls.to_dict()
    )

    health = site["model health"]
    model = health.strip("/").split("/")[-1]
    versions = _by_name(*export_rows(client, health, "versions"), key="Version")
    mine = raw[raw["model__name"] == model].groupby("model_version__version")
    # A version that only ran in shadow is listed with its copies and no request.
    served = {v: n for v, n in mine.size().to_dict().items()}
    assert {v: int(row["Inferences (count)"]) for v, row in versions.items()} == {
        v: served.get(v, 0) for v in versions
    }
    assert set(served) <= set(versions)
    failed = {v: float((events["status"] == "error").sum()) for v, events in mine}
    assert {v: _number(row["Failed inferences (count)"]) for v, row in versions.items()} == {
        v: failed.get(v, 0.0) for v in versions
    }


def test_the_exported_traffic_split_is_the_apis(client, site, time_machine, now, api_as):
    time_machine.move_to(now, tick=False)
    api = api_as(User.objects.get(username="admin")).get("/api/v1/kpis/deployment/").json()
    header, rows = export_rows(client, "/deployment/", "traffic_split")

    def key(endpoint, model, version, roles):
        return (endpoint, model, str(version), roles)

    exported = {
        key(*(row[header.index(c)] for c in ("Endpoint", "Model", "Version", "Role"))): (
            int(row[header.index("Requests (count)")]),
            int(row[header.index("Shadow copies (count)")]),
            _number(row[header.index("Observed share in window (fraction)")]),
        )
        for row in rows
    }
    assert exported == {
        key(r["endpoint"], r["model"], r["version"], " -> ".join(r["roles"])): (
            r["inferences"],
            r["shadow_copies"],
            None if r["observed_share"] is None else pytest.approx(r["observed_share"]),
        )
        for r in api["traffic_split"]
    }
    assert len(rows) == len(api["traffic_split"]) > 10


def test_every_table_on_a_page_is_drawn_by_the_one_include():
    """A page's table is a Table drawn by _table.html, so none lacks its CSV export."""
    templates = Path(settings.BASE_DIR) / "templates"
    elsewhere = [
        str(path.relative_to(templates))
        for path in templates.rglob("*.html")
        if path.name != "_table.html" and "<table" in path.read_text()
    ]
    assert elsewhere == []
