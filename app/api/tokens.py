"""`/api/tokens`: API tokens for scripts (`Authorization: Bearer`), shown once, stored hashed."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..db.models import ApiToken
from ..web.errors import ApiError
from .crud import Resource, ResourceHandler, parse_id, parse_model
from .schemas import TokenCreated, TokenIn, TokenOut

RESOURCE = Resource(
    name="tokens", singular="token", model=ApiToken, create=TokenIn, patch=TokenIn, out=TokenOut
)


class TokensHandler(ResourceHandler):
    reads_need_auth = True

    def get(self) -> None:
        with self.session() as session:
            rows = session.scalars(select(ApiToken).order_by(ApiToken.id))
            self.send_json([TokenOut.model_validate(row).model_dump(mode="json") for row in rows])

    async def post(self) -> None:
        wanted = parse_model(TokenIn, self.json_body())
        with self.session() as session:
            self.resource.check_unique(session, {"name": wanted.name}, None)
        try:
            token_id, token = await self.maelstrom.auth.issue_token(wanted.name)
        except IntegrityError:
            raise ApiError(409, "conflict", f"a token named {wanted.name!r} exists", "name") from None
        self.send_json(TokenCreated(id=token_id, name=wanted.name, token=token).model_dump(), 201)


class TokenHandler(ResourceHandler):
    reads_need_auth = True

    def get(self, token_id: str) -> None:
        with self.session() as session:
            row = self.resource.find(session, token_id)
            self.send_json(TokenOut.model_validate(row).model_dump(mode="json"))

    async def delete(self, token_id: str) -> None:
        """Revoke: requests with it are refused from now on, its WebSockets are closed."""
        row_id = parse_id(token_id)
        if row_id is None or not await self.maelstrom.auth.revoke_token(row_id):
            raise ApiError(404, "not_found", f"no token {token_id}")
        self.set_status(204)
        self.finish()
