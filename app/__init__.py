"""Maelstrom: a brewery controller appliance."""

__version__ = "0.1.0"
