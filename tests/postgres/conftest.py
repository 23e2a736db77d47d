"""A real PostgreSQL server for the portability tests, installed and started by the project itself.

`scripts/postgres.sh start` installs the Debian package when missing, creates a private cluster in
a temp dir and starts it on 127.0.0.1 (a free port). If that cannot happen the tests FAIL with the
script's message: CI must never pass by silently skipping the second engine.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.portability.raw_copy import PostgresConnection

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "postgres.sh"


def parse_connection(text: str) -> PostgresConnection:
    env = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    return PostgresConnection.from_env(env)


@pytest.fixture(scope="session")
def postgres_dir() -> Iterator[Path]:
    # Under /tmp, not pytest's 0700 tmp dirs: the server runs as the `postgres` user and must reach it.
    path = Path(tempfile.mkdtemp(prefix="lifecycle-pg-"))
    yield path
    subprocess.run(["bash", str(SCRIPT), "stop", str(path)], check=False, capture_output=True)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server(postgres_dir: Path) -> PostgresConnection:
    proc = subprocess.run(
        ["bash", str(SCRIPT), "start", str(postgres_dir)], capture_output=True, text=True, timeout=600
    )
    if proc.returncode != 0:
        pytest.fail(f"could not install/start PostgreSQL via {SCRIPT}: {proc.stderr.strip() or proc.stdout}")
    return parse_connection(proc.stdout)


@pytest.fixture
def pg_database(postgres_server: PostgresConnection, request) -> Iterator[PostgresConnection]:
    """A fresh database per test (cheap in PostgreSQL), so tests never see each other's tables."""
    import psycopg2

    name = "t_" + "".join(ch if ch.isalnum() else "_" for ch in request.node.name.lower())[:50]
    admin = psycopg2.connect(**_kwargs(postgres_server))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'drop database if exists "{name}"')
        cur.execute(f'create database "{name}"')
    try:
        yield PostgresConnection(
            host=postgres_server.host,
            port=postgres_server.port,
            user=postgres_server.user,
            password=postgres_server.password,
            dbname=name,
        )
    finally:
        with admin.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')
        admin.close()


def _kwargs(pg: PostgresConnection) -> dict[str, object]:
    return {"host": pg.host, "port": pg.port, "user": pg.user, "password": pg.password, "dbname": pg.dbname}
