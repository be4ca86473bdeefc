"""Limen tests."""
