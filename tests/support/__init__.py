"""Test-support helpers: private Redis/PostgreSQL servers and a live gunicorn server."""
