"""How the production settings configure their PostgreSQL connections."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = [pytest.mark.services, pytest.mark.usefixtures("services", "db")]


def test_connections_run_without_jit():
    """KPI requests run short queries; JIT compiling them cost more than it saved."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
