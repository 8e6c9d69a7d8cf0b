"""`/api/tokens`: API tokens for scripts (`Authorization: Bearer`), shown once, stored hashed."""

from __future__ import annotations

from sqlalchemy import select

from ..db.models import ApiToken
from .crud import Resource, _ResourceHandler, parse_model
from .schemas import TokenCreated, TokenIn, TokenOut

RESOURCE = Resource(
    name="tokens", singular="token", model=ApiToken, create=TokenIn, patch=TokenIn, out=TokenOut
)


class TokensHandler(_ResourceHandler):
    reads_need_auth = True

    def get(self) -> None:
        with self.session() as session:
            rows = session.scalars(select(ApiToken).order_by(ApiToken.id))
            self.send_json([TokenOut.model_validate(row).model_dump(mode="json") for row in rows])

    def post(self) -> None:
        wanted = parse_model(TokenIn, self.json_body())
        with self.session() as session:
            self._check_unique(session, {"name": wanted.name}, None)
            row, token = self.maelstrom.auth.create_token(session, wanted.name)
            self._commit(session)
            body = TokenCreated(id=row.id, name=row.name, token=token).model_dump()
        self.send_json(body, 201)


class TokenHandler(_ResourceHandler):
    reads_need_auth = True

    def get(self, token_id: str) -> None:
        with self.session() as session:
            self.send_json(TokenOut.model_validate(self._row(session, token_id)).model_dump(mode="json"))

    def delete(self, token_id: str) -> None:
        with self.session() as session:
            session.delete(self._row(session, token_id))
            self._commit(session)
        self.set_status(204)
        self.finish()
