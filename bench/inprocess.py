"""The per-request floor in process: CPU per request of Limen's ``/healthz`` against a bare
Flask JSON endpoint, both through werkzeug's test client (no network, no server), and where
Limen's time goes (cProfile).

    .venv/bin/python bench/inprocess.py [--requests 5000] [--profile] [--path /healthz]

Limen runs with production settings and rate limits on; Redis is a private ``redis-server``
when one is on PATH (else the embedded stand-in) and the database an SQLite file. Logs go to
/dev/null (the writer's cost is still paid). The two apps alternate in three rounds; the
figure is the median round.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This script's folder holds bench/profile.py, which would shadow the stdlib module cProfile
# imports: look up modules from the repository root instead.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse  # noqa: E402
import cProfile  # noqa: E402
import os  # noqa: E402
import pstats  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

from flask import Flask, jsonify  # noqa: E402


def bare_app() -> Flask:
    """The framework's floor: one JSON route and nothing else."""
    app = Flask("bare")

    @app.get("/healthz")
    def healthz():  # type: ignore[no-untyped-def]
        return jsonify({"status": "ok"})

    return app


def limen_app(tmp: Path, redis_url: str | None) -> Flask:
    """Limen as production runs it (rate limits on, JSON logs), on SQLite."""
    from webapp import create_app

    return create_app(
        {
            "env": "production",
            "secret_key": "inprocess-bench-" + "x" * 40,
            "instance_path": tmp,
            "database_url": f"sqlite:///{tmp / 'limen.db'}",
            "redis_url": redis_url,
            "log_format": "json",
        }
    )


def per_request_us(app: Flask, path: str, n: int) -> float:
    """Mean CPU microseconds per request over ``n`` requests."""
    client = app.test_client()
    for _ in range(200):  # warm-up
        client.get(path)
    start = time.process_time()
    for _ in range(n):
        client.get(path)
    return (time.process_time() - start) * 1e6 / n


def profile(app: Flask, path: str, n: int, top: int) -> None:
    client = app.test_client()
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(n):
        client.get(path)
    prof.disable()
    pstats.Stats(prof, stream=sys.stdout).sort_stats("tottime").print_stats(top)


def _redis() -> tuple[str | None, Callable[[], None]]:
    try:
        from tests.support.services import RedisServer
    except ImportError:
        return None, lambda: None
    server = RedisServer()
    server.__enter__()
    return server.url, lambda: server.__exit__(None, None, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--path", default="/healthz")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (the access log goes nowhere)
    redis_url, stop = _redis()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            limen = limen_app(Path(tmp), redis_url)
            with limen.app_context():
                from webapp.extensions import db

                db.create_all()
            bare = bare_app()
            rounds = [
                (
                    per_request_us(bare, "/healthz", args.requests),
                    per_request_us(limen, args.path, args.requests),
                )
                for _ in range(3)
            ]
            b = statistics.median(r[0] for r in rounds)
            lim = statistics.median(r[1] for r in rounds)
            print(f"bare Flask /healthz: {b:7.1f} us/request", file=sys.stdout)
            print(f"Limen {args.path}: {lim:7.1f} us/request  (x{lim / b:.2f} the framework)")
            if args.profile:
                profile(limen, args.path, args.requests, args.top)
    finally:
        stop()


if __name__ == "__main__":
    main()
