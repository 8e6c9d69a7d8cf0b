"""Channel pub/sub: the transport-free hub and its WebSocket and HTTP adapters."""
