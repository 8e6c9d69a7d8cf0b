"""Boards: the board protocol, drivers (serial, TCP), the thermal simulator and simulated
firmware, and the reference firmware. Knows nothing of the database or the web server."""
