"""`GET /api/openapi.json`: the document is built on the first request and kept."""

from __future__ import annotations

from typing import Any

from ..web.handler import JsonHandler
from ..web.routes import Route


class OpenApiDocument:
    """Builds the document once, when first asked. The builder and the document (JSON
    Schema of every model, about 1 MiB resident) stay out of a server nobody asks."""

    def __init__(self, routes: list[Route]) -> None:
        self._routes = routes
        self._document: dict[str, Any] | None = None

    def get(self) -> dict[str, Any]:
        if self._document is None:
            from .openapi import build_document

            self._document = build_document(self._routes)
        return self._document


class OpenApiHandler(JsonHandler):
    def initialize(self, document: OpenApiDocument) -> None:
        self.document = document

    def get(self) -> None:
        self.send_json(self.document.get())
