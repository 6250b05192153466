"""What the PostgreSQL benchmarks share: the production-shaped environment they run
Django under, the database they create, and the load average printed beside figures."""

from __future__ import annotations

import os


def load_average() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def postgres_environ(database: str, **extra: str) -> None:
    """Production settings on the local PostgreSQL `database`, without HTTPS redirects
    (the benchmarks talk to Django's test client), before django.setup()."""
    os.environ.update(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{database}",
        SECRET_KEY="bench-" + "x" * 50,
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        CELERY_BROKER_URL=os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/3"),
        SECURE_SSL_REDIRECT="false",
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
        DJANGO_SETTINGS_MODULE="kpiboard.settings",
        **extra,
    )


def database_create(database: str) -> None:
    """Create `database` on the local PostgreSQL unless it exists."""
    import psycopg2

    conn = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database])
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{database}"')
    finally:
        conn.close()
