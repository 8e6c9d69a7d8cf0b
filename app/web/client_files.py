"""The tablet client's files (`app/static/`): `/` is its index.html, `/static/...` the rest.

Every response carries an ETag and `Cache-Control: no-cache`, so a tablet revalidates its
copy (a 304 of a few hundred bytes) instead of downloading it again, and sees a new version
at once after an upgrade; the application gzips them (`compress_response`)."""

from __future__ import annotations

import tornado.web


class ClientFileHandler(tornado.web.StaticFileHandler):
    def set_extra_headers(self, path: str) -> None:
        self.set_header("Cache-Control", "no-cache")

    def get_cache_time(self, path: str, modified: object, mime_type: str) -> int:
        return 0  # never a max-age: revalidate with the ETag on every load
