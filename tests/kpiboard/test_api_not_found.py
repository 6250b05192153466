"""An /api/ path that matches no route answers JSON, as the OpenAPI schema documents."""

import pytest

pytestmark = pytest.mark.django_db


def test_an_api_path_that_matches_no_route_answers_json_404(api_as, alice):
    response = api_as(alice).get("/api/v1/lifecycle-changes/0.5/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"detail": "Not found."}


def test_a_page_that_matches_no_route_still_answers_html(client, alice):
    client.force_login(alice)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
