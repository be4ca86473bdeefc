"""A process without Flask (worker, cron) opens the web app's database the same way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from webapp import create_app
from webapp.connections import database_engine
from webapp.extensions import db
from webapp.factory import checked_settings


@pytest.mark.parametrize(
    ("database", "opened"),
    [
        ({}, True),  # the default file in the instance path
        ({"database_url": "sqlite://"}, True),  # in memory: one static connection
        # Flask-SQLAlchemy's rule for a relative file: under the instance path, whatever it is.
        ({"instance_path": Path("relative-instance")}, False),
        ({"database_url": "postgresql://limen@db.invalid/limen"}, False),
    ],
)
def test_the_engine_without_flask_is_the_apps(
    database: dict[str, Any], opened: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = {"env": "development", "instance_path": tmp_path, "log_level": "WARNING"}
    settings.update(database)
    app = create_app(settings)
    with app.app_context():
        web = db.engine
    plain = database_engine(checked_settings(settings))
    try:
        assert plain.url == web.url
        assert type(plain.pool) is type(web.pool)
        assert plain.dialect.name == web.dialect.name
        if opened:  # with the same pragmas
            with plain.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        plain.dispose()
        web.dispose()
        app.extensions["limen.redis"].close()
