"""The websocket protocol of ``/ws`` for client authors: its messages as msgspec Structs
and the AsyncAPI 3.0 document generated from them (served at ``/api/asyncapi.json``).

The hub (:mod:`gateway.hub`) and the stream link (:mod:`gateway.live`) write these
messages; the timings and bounds quoted in the document are the hub's own constants, and
a test captures real messages from ``/ws`` and validates each against the document's
schemas, so the document and the server cannot drift apart unnoticed.

The document describes the gateway: ``receive`` operations are what a client sends,
``send`` operations what the gateway sends.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from gateway.hub import AUTH_WINDOW, HEARTBEAT, MAX_ACCOUNTS, MAX_PENDING_EVENTS, MAX_STALL
from gateway.schemas import AccountStatus, BreachPriceOut, Role
from streams.outputs import Breach, Objective, Passed, Resumed

MAX_MESSAGE = 64 * 1024  # bytes of one client message (the app's websocket_max_message_size)
Login = Annotated[str, msgspec.Meta(description="a trading account's login", examples=["T1C7P1"])]
Money = Annotated[float | None, msgspec.Meta(
    description="account-currency units, to the cent; null when the rule is absent")]

# -- what a client sends -----------------------------------------------------------------


class Auth(msgspec.Struct, tag="auth", tag_field="type", forbid_unknown_fields=True):
    """Authenticate with an access token (unless ``?token=`` did)."""

    token: Annotated[str, msgspec.Meta(description="an access token from /api/v1/auth/login")]


class Subscribe(msgspec.Struct, tag="subscribe", tag_field="type", forbid_unknown_fields=True):
    """Start receiving accounts' metrics and risk events, and/or the firm's risk feed."""

    accounts: list[Login] = []
    feed: Literal["risk"] | None = None


class Unsubscribe(msgspec.Struct, tag="unsubscribe", tag_field="type",
                  forbid_unknown_fields=True):
    """Stop receiving accounts and/or the risk feed (no answer)."""

    accounts: list[Login] = []
    feed: Literal["risk"] | None = None


class Ping(msgspec.Struct, tag="ping", tag_field="type", forbid_unknown_fields=True):
    """Ask for a ``pong`` (an application-level liveness check)."""


# -- what the gateway sends ----------------------------------------------------------------


class Authenticated(msgspec.Struct, tag="authenticated", tag_field="type"):
    role: Role


class Subscribed(msgspec.Struct, tag="subscribed", tag_field="type"):
    """The subscription took effect for these accounts (those refused are named in an
    ``error`` before it)."""

    accounts: list[Login]
    feed: Literal["risk"] | None


class AccountSnapshot(msgspec.Struct):
    """An account's latest numbers, as the engine computed them."""

    login: Login
    status: Annotated[AccountStatus, msgspec.Meta(
        description="the account's one status, as every endpoint gives it")]
    ts: Annotated[str, msgspec.Meta(description="event time, ISO 8601 UTC")]
    open_positions: int
    balance: Money
    equity: Money
    daily_floor: Money
    max_loss_floor: Money
    as_of: Annotated[str | None, msgspec.Meta(description=(
        "when the gateway received these numbers, ISO 8601 UTC (absent from numbers "
        "cached before the field existed)"))] = None
    stale: Annotated[bool, msgspec.Meta(description=(
        "true while the broker is down: no newer numbers can arrive and these may be "
        "behind; when it goes down and when it comes back, each subscribed account's "
        "latest numbers are sent again with this flag"))] = False
    trading_days: Annotated[int | None, msgspec.Meta(description=(
        "trading days as the program's min_trading_days counts them (absent from "
        "numbers of an older worker)"))] = None
    day_start_balance: Annotated[Money, msgspec.Meta(description=(
        "the balance at the start of the trading day (the program's day)"))] = None
    day_start_equity: Annotated[Money, msgspec.Meta(description=(
        "the equity at the start of the trading day: equity − day_start_equity is "
        "today's P/L"))] = None
    breach_prices: Annotated[list[BreachPriceOut] | None, msgspec.Meta(description=(
        "per held symbol, the bid (net long) or ask (net short) at which equity would "
        "touch the nearest floor, every other price held; empty without a floor or a "
        "position"))] = None


class Metrics(msgspec.Struct, tag="metrics", tag_field="type"):
    account: Login
    data: AccountSnapshot


class RiskEvent(msgspec.Struct, tag="risk_event", tag_field="type"):
    id: Annotated[str, msgspec.Meta(description="the answer's stable id "
                                                "(<partition>:<seq>:<n>), the id of the "
                                                "event in GET /api/v1/risk/events")]
    event: Breach | Objective | Passed | Resumed


class Heartbeat(msgspec.Struct, tag="heartbeat", tag_field="type"):
    ts: Annotated[float, msgspec.Meta(description="the gateway's clock, Unix seconds")]


class Pong(msgspec.Struct, tag="pong", tag_field="type"):
    pass


class Error(msgspec.Struct, tag="error", tag_field="type"):
    """A request refused; the connection stays open (after a failed authentication it is
    closed with 4001 right after)."""

    code: Annotated[str, msgspec.Meta(description=(
        "bad_message (not a JSON object with a known type, or accounts not a list of "
        "logins), unauthorized (authenticate first), forbidden (the risk feed is for the "
        "risk desk), not_found (an account that is not yours or does not exist), "
        "too_many (subscriptions), too_many_connections, too_many_unauthenticated or "
        "too_many_messages (a cap, then close 1008), or the token's own code: token_invalid, "
        "token_expired, token_revoked, account_disabled; unavailable (a part the request "
        "needs does not answer: `part` names it; try again shortly)"))]
    message: str
    part: Annotated[Literal["postgres", "redis", "broker", "analytics"] | None,
                    msgspec.Meta(description="for `unavailable`: the part that did not "
                                             "answer")] = None


# name → (struct, direction, summary, description)
MESSAGES: dict[str, tuple[type, str, str, str]] = {
    "auth": (Auth, "receive", "Authenticate", (
        f"The first message when the URL carried no `?token=`; within {AUTH_WINDOW:g} s of "
        "connecting, else the connection closes with 4001. Answered by `authenticated`, or "
        "by `error` and close 4001. Sent again once authenticated, it is ignored.")),
    "subscribe": (Subscribe, "receive", "Subscribe to accounts and the risk feed", (
        "`accounts`: a trader only its own, the risk desk and admins any of the firm's; "
        "each account's cached snapshot follows at once as `metrics`. `feed: risk`: every "
        "risk event of the firm (risk desk, admins and owners). At most "
        f"{MAX_ACCOUNTS} subscriptions a connection. Answered by `subscribed` (after an "
        "`error` naming an account refused).")),
    "unsubscribe": (Unsubscribe, "receive", "Unsubscribe", "No answer."),
    "ping": (Ping, "receive", "Ping", "Answered by `pong`."),
    "authenticated": (Authenticated, "send", "Authenticated", "The caller's role."),
    "subscribed": (Subscribed, "send", "Subscribed", "The accounts now subscribed."),
    "metrics": (Metrics, "send", "An account's latest numbers", (
        "At most every 250 ms per account while it changes. Coalesced: a client that "
        "cannot keep up receives only the latest snapshot of each account when it is "
        "ready again (older ones are replaced, never queued).")),
    "risk_event": (RiskEvent, "send", "A breach, objective, pass or resume", (
        "To the account's subscribers and the firm's risk feed. Queued, never coalesced "
        f"or dropped: past {MAX_PENDING_EVENTS} waiting for a slow client the connection "
        "closes with 1013. The event is the engine's answer (CONTRACTS.md §3); readers "
        "ignore event types and fields they do not know.")),
    "heartbeat": (Heartbeat, "send", "Heartbeat", (
        f"Every {HEARTBEAT:g} s on every connection, authenticated or not.")),
    "pong": (Pong, "send", "Pong", "The answer to `ping`."),
    "error": (Error, "send", "A request refused", "`code` says why; see its description."),
}

CLOSE_CODES = [
    {"code": 1000, "reason": "normal closure (the client closed)"},
    {"code": 1001, "reason": "going away: the gateway is stopping (a restart or a "
                             "scale-down) and gave the connection's place back; reconnect "
                             "(and resubscribe) at once"},
    {"code": 1006, "reason": "no close frame (what browsers report): the gateway's process "
                             "ended without stopping (a crash, a kill) or the network "
                             "failed; reconnect"},
    {"code": 1008, "reason": "policy violation: the user's connections "
                             "(WS_MAX_CONNECTIONS_PER_USER), this address's connections "
                             "waiting to authenticate (WS_MAX_UNAUTHENTICATED_PER_ADDRESS) "
                             "or this connection's messages a second "
                             "(WS_MAX_MESSAGES_PER_SECOND) over their cap"},
    {"code": 1009, "reason": f"a client message over {MAX_MESSAGE // 1024} KiB"},
    {"code": 1013, "reason": f"too slow: {MAX_PENDING_EVENTS} risk events waited for the "
                             f"client, or one write waited {MAX_STALL:g} s; reconnect "
                             "(and resubscribe) later"},
    {"code": 4001, "reason": f"authentication failed, or none within {AUTH_WINDOW:g} s"},
]

DESCRIPTION = f"""Live account numbers and risk events over one websocket, `/ws`, on the
firm's own host (the firm is resolved from the host, as for the REST API). JSON text
frames, one message each, every message an object with a `type`.

1. Connect to `/ws?token=<access token>`, or connect and send `auth` within
   {AUTH_WINDOW:g} s. The answer is `authenticated` with the caller's role.
2. `subscribe` to accounts and/or `feed: risk`; `subscribed` confirms, and each account's
   latest snapshot follows as `metrics`.
3. The gateway sends `metrics` as accounts change, `risk_event` for breaches, objectives,
   passes and resumes, and `heartbeat` every {HEARTBEAT:g} s.

While the broker is down the gateway keeps serving the numbers it has, marked
`stale: true` with `as_of` (when it received them); each subscribed account's latest
numbers are sent again when the broker goes down and when it comes back. A request a part
cannot answer (PostgreSQL or Redis down) gets `error` with code `unavailable` and the
`part`; the connection stays open.

Access tokens expire (15 minutes): reconnect with a fresh one and subscribe again; the
snapshots sent at subscription fill the gap for numbers, and `GET
/api/v1/risk/events` for events. A slow client never gets a growing queue: metrics are
coalesced to the latest per account, risk events are kept up to {MAX_PENDING_EVENTS}, and
past that (or a write blocked {MAX_STALL:g} s) the connection closes with 1013. Close
codes are listed under the channel's `x-close-codes`."""


def document(version: str) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of ``/ws``."""
    types = [struct for struct, _, _, _ in MESSAGES.values()]
    schemas, components = msgspec.json.schema_components(
        types, ref_template="#/components/schemas/{name}")
    _asyncapi_discriminators(components)
    messages = {}
    for (name, (struct, _, summary, description)), schema in zip(MESSAGES.items(), schemas,
                                                                 strict=True):
        messages[name] = {"name": name, "title": struct.__name__, "summary": summary,
                          "description": description, "contentType": "application/json",
                          "payload": schema}
    operations = {}
    for name, (_, direction, summary, _) in MESSAGES.items():
        operations[f"{direction}_{name}"] = {
            "action": direction, "summary": summary,
            "channel": {"$ref": "#/channels/live"},
            "messages": [{"$ref": f"#/channels/live/messages/{name}"}]}
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "PropTrade live data (/ws)", "version": version,
                 "description": DESCRIPTION},
        "defaultContentType": "application/json",
        "servers": {"gateway": {
            "host": "{host}", "protocol": "ws", "pathname": "/ws",
            "description": "the firm's host (wss behind TLS)",
            "variables": {"host": {"default": "localhost:8000",
                                   "description": "the firm's host and port"}},
            "security": [{"$ref": "#/components/securitySchemes/token"}]}},
        "channels": {"live": {
            "address": "/ws", "title": "The live connection",
            "description": "Every message of both directions travels on the one connection.",
            "servers": [{"$ref": "#/servers/gateway"}],
            "messages": {name: {"$ref": f"#/components/messages/{name}"}
                         for name in MESSAGES},
            "bindings": {"ws": {"method": "GET", "query": {
                "type": "object", "properties": {"token": {
                    "type": "string", "description": "an access token (or send `auth`)"}}}}},
            "x-close-codes": CLOSE_CODES}},
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": components,
            "securitySchemes": {"token": {
                "type": "httpApiKey", "name": "token", "in": "query",
                "description": "the access token as `?token=`, or in a first `auth` "
                               "message"}},
        },
    }


def _asyncapi_discriminators(node: Any) -> None:
    """msgspec writes OpenAPI's discriminator object; an AsyncAPI schema's
    ``discriminator`` is the name of the property."""
    if isinstance(node, dict):
        found = node.get("discriminator")
        if isinstance(found, dict):
            node["discriminator"] = found["propertyName"]
        for value in node.values():
            _asyncapi_discriminators(value)
    elif isinstance(node, list):
        for value in node:
            _asyncapi_discriminators(value)
