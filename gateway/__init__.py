"""The Tornado gateway: REST under ``/api/v1``, auth, tenants, the websocket hub."""
