"""Test-support helpers: private Redis/PostgreSQL servers and a live Limen server (granian)."""
