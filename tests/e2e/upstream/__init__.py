"""Upstream identity providers."""
