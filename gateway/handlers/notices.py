"""``/api/v1/me/notifications``: which e-mail notices the caller receives."""

from __future__ import annotations

from gateway.api import ROLES, ApiHandler, operation
from gateway.schemas import NotificationsIn, NotificationsOut


class NotificationsHandler(ApiHandler):
    @operation("The caller's e-mail notices: which are sent (the essential ones always)",
               response=NotificationsOut, roles=ROLES, tag="me")
    async def get(self) -> None:
        self.send(await self.services.challenges.notifier.preferences(self.user.user_id))

    @operation("Turn optional e-mail notices on or off (account_opened, passed, "
               "phase_opened); an essential one set to false is a 422; kinds left out keep "
               "their setting", body=NotificationsIn, response=NotificationsOut,
               roles=ROLES, tag="me")
    async def put(self) -> None:
        body = self.body(NotificationsIn)
        self.send(await self.services.challenges.notifier.set_preferences(
            self.user.user_id, body))


ROUTES = [(r"/api/v1/me/notifications", NotificationsHandler)]
