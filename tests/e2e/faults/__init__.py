"""Fault injection: backing services stop and come back."""
