"""`/api/settings`: runtime settings by name (units, theme, logo, tick period, public_read...)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ..runtime_settings import SPECS, UnknownSetting
from ..web.errors import ApiError
from ..web.handler import JsonHandler
from .crud import validation_error


class _SettingsHandler(JsonHandler):
    def _validated(self, values: dict[str, Any]) -> dict[str, Any]:
        clean = {}
        for name, value in values.items():
            try:
                clean[name] = self.maelstrom.settings.validate(name, value)
            except UnknownSetting:
                raise ApiError(400, "validation", f"{name}: no such setting", name) from None
            except ValidationError as error:
                problem = validation_error(error)
                raise ApiError(400, "validation", f"{name}: {problem.message}", name) from None
        return clean

    async def _save(self, values: dict[str, Any]) -> None:
        store = self.maelstrom.settings
        await self.maelstrom.db_writer.submit("settings", lambda session: store.write(session, values))
        store.committed(values)  # in memory and announced only once stored
        for name, value in values.items():
            self.maelstrom.hub.publish(
                "_settings", {"eventType": "update", "setting": {"name": name, "value": value}}
            )


class SettingsHandler(_SettingsHandler):
    def get(self) -> None:
        self.send_json(self.maelstrom.settings.all())

    async def patch(self) -> None:
        body = self.json_body()
        if not isinstance(body, dict) or not body:
            raise ApiError(400, "validation", "body must be an object of setting names and values", "body")
        values = self._validated(body)
        await self._save(values)
        self.send_json(self.maelstrom.settings.all())


class SettingHandler(_SettingsHandler):
    def _name(self, name: str) -> str:
        if name not in SPECS:
            raise ApiError(404, "not_found", f"no setting {name}")
        return name

    def get(self, name: str) -> None:
        name = self._name(name)
        self.send_json({"name": name, "value": self.maelstrom.settings.get(name), "help": SPECS[name].help})

    async def put(self, name: str) -> None:
        name = self._name(name)
        body = self.json_body()
        if not isinstance(body, dict) or set(body) != {"value"}:
            raise ApiError(400, "validation", 'body must be {"value": ...}', "value")
        await self._save(self._validated({name: body["value"]}))
        self.get(name)

    patch = put

    async def delete(self, name: str) -> None:
        """Back to the default."""
        name = self._name(name)
        await self._save({name: SPECS[name].default})
        self.get(name)
