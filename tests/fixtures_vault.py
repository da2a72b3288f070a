"""Shared pytest fixtures (plugin loaded by conftest.py)."""
