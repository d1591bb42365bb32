"""What the benchmark scripts share: progress output, their PostgreSQL database, free ports."""

import socket
import sys
from pathlib import Path

import psycopg
from psycopg import sql

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
LOOPBACK = "127.0.0.1"
PROG = Path(sys.argv[0]).stem.replace("_", "-")  # bench-intake, bench-classify


def log(message: str) -> None:
    """Progress goes to stderr so that stdout holds only the report (or the JSON)."""
    print(message, file=sys.stderr, flush=True)


def pg_connect(dbname: str) -> psycopg.Connection:
    """An autocommit connection as the postgres user, or exit naming what is missing."""
    try:
        return psycopg.connect(
            host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=dbname, autocommit=True, connect_timeout=3
        )
    except psycopg.OperationalError as exc:
        sys.exit(
            f"{PROG}: PostgreSQL is not reachable at {PG_HOST}:{PG_PORT} as user '{PG_USER}' "
            f"(trust auth expected): {str(exc).strip()}\n"
            "Start it (e.g. `pg_ctlcluster 15 main start` or a postgres container) and run again."
        )


def bench_db_recreate(name: str) -> str:
    """Drop and create the bench database; returns the server version."""
    with pg_connect("postgres") as conn:
        # FORCE: a previous run killed mid-way may have left connections behind.
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return str(conn.execute("SHOW server_version").fetchone()[0])


def bench_db_drop(name: str) -> None:
    with pg_connect("postgres") as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def database_url(name: str, options: str) -> str:
    url = f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    return f"{url}?{options}" if options else url


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])
