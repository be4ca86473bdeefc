"""`limen-server dev`: the schedule and the jobs run in a thread on the embedded stand-in."""

from __future__ import annotations

import time
from pathlib import Path

from flask_migrate import upgrade

from webapp import create_app
from webapp.extensions import db, migrations
from webapp.jobs import enqueue_key_rotation, overview, start_dev_runner


def test_dev_runner_runs_the_schedule_and_enqueued_jobs(tmp_path: Path) -> None:
    import warnings

    app = create_app(
        {
            "env": "development",
            "instance_path": tmp_path,
            "cookie_secure": False,
            "log_level": "WARNING",
        }
    )
    with app.app_context(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", "'get_engine' is deprecated", DeprecationWarning)
        upgrade(directory=migrations(app).directory)
    rt = app.extensions["limen.jobs"]
    runner = start_dev_runner(rt)
    try:
        with app.app_context():
            enqueue_key_rotation(rt, now=False, actor="dev")
            deadline = time.monotonic() + 20
            while True:
                done = {r["job"] for r in overview(rt)["runs"] if r["status"] == "succeeded"}
                if {"keys.rotate", "keys.maintain", "purge"} <= done:
                    break
                assert time.monotonic() < deadline, overview(rt)["runs"]
                time.sleep(0.1)
            assert {k["state"] for k in overview(rt)["signing_keys"]} == {"active", "next"}
    finally:
        runner.stop()
        app.extensions["limen.jobs"].close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
