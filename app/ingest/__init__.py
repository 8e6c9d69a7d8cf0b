"""Ingest: the TCP line protocol and HTTP feeds (protocol.md §6); see docs/ingest.md."""
