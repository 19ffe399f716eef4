"""Tornado gateway (to come): REST, websocket hub, auth, tenants, challenges, payments."""
