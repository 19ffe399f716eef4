"""The websocket's AsyncAPI document: served beside the OpenAPI one, whole (every
reference resolves), and true — every message captured from a real ``/ws`` session
validates against the document's schemas (strictly: no undocumented field), every
message the document promises was seen, and every close code seen is documented."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import orjson
import pytest
import tornado.websocket
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from gateway import hub
from gateway.hub import MAX_PENDING_EVENTS
from tests.gateway.conftest import Bridge, Gateway
from tests.gateway.test_journey import PROGRAM, admin_token, buy_and_pay
from tests.gateway.test_websocket import Socket

BASE = "urn:proptrade:asyncapi"


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


def pointer(document: dict, ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def strict(node: Any) -> Any:
    """The schemas with undocumented fields refused (the document itself lets readers
    ignore unknown fields; the server must not send any)."""
    if isinstance(node, dict):
        out = {key: strict(value) for key, value in node.items()}
        if out.get("type") == "object" and "properties" in out:
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [strict(value) for value in node]
    return node


class Document:
    """The served document, with a validator per message."""

    def __init__(self, document: dict) -> None:
        self.document = document
        registry = Registry().with_resource(
            BASE, Resource(contents=strict(document), specification=DRAFT202012))
        self.validators = {
            name: Draft202012Validator(
                {"$ref": f"{BASE}#/components/messages/{name}/payload"}, registry=registry)
            for name in document["components"]["messages"]}
        self.direction = {op["messages"][0]["$ref"].rsplit("/", 1)[-1]: op["action"]
                          for op in document["operations"].values()}

    def check(self, message: dict, direction: str) -> str:
        """The name of the documented message ``message`` is; fails if none fits."""
        fits = [name for name, validator in self.validators.items()
                if self.direction[name] == direction and validator.is_valid(message)]
        assert len(fits) == 1, (message, fits, [
            str(error.message) for name, validator in self.validators.items()
            if self.direction[name] == direction for error in validator.iter_errors(message)
            if name == message.get("type")])
        return fits[0]


def test_the_asyncapi_document_is_served_whole_and_linked(gateway: Gateway) -> None:
    answer = gateway.get("/api/asyncapi.json")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/json")
    document = answer.json()
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"] and document["info"]["version"]
    for ref in refs(document):
        assert pointer(document, ref) is not None, ref
    channel = document["channels"]["live"]
    assert channel["address"] == "/ws"
    assert set(channel["messages"]) == set(document["components"]["messages"])
    actions = {name: op["action"] for name, op in document["operations"].items()}
    assert set(actions.values()) == {"send", "receive"}
    assert {op["messages"][0]["$ref"].rsplit("/", 1)[-1]
            for op in document["operations"].values()} == set(channel["messages"])
    for message in document["components"]["messages"].values():
        assert message["payload"]["$ref"].startswith("#/components/schemas/")
    codes = {entry["code"] for entry in channel["x-close-codes"]}
    assert codes >= {1000, 1001, 1006, 1008, 1009, 1013, 4001}
    assert f"{MAX_PENDING_EVENTS} risk events" in str(channel["x-close-codes"])
    Document(document)  # every schema compiles into a validator

    page = gateway.get("/api/docs").text
    assert "href='/api/asyncapi.json'" in page and "id='websocket'" in page
    assert "<code>risk_event</code>" in page and "<code>4001</code>" in page


class Recorder(Socket):
    """A websocket client that keeps every message it receives and speaks only the
    documented protocol."""

    def __init__(self, connection: Any, document: Document) -> None:
        super().__init__(connection)
        self.document = document

    async def send(self, message: dict) -> None:
        self.document.check(message, "receive")  # the test speaks the documented protocol
        await super().send(message)

    async def closed(self, timeout: float = 10.0) -> int:
        async with asyncio.timeout(timeout):
            while (raw := await self.connection.read_message()) is not None:
                self.received.append(orjson.loads(raw))
        self.connection.close()  # the client's side too (an unclosed one warns when freed)
        return int(self.connection.close_code)


def test_real_messages_from_ws_match_the_document(live: tuple[Gateway, Bridge],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    gateway, bridge = live
    monkeypatch.setattr(hub, "HEARTBEAT", 0.3)  # so a heartbeat comes within the test
    monkeypatch.setattr(hub, "AUTH_WINDOW", 0.5)
    document = Document(gateway.get("/api/asyncapi.json").json())
    admin = admin_token(gateway)
    assert gateway.post("/api/v1/admin/programs", PROGRAM, admin).status_code == 201
    trader = gateway.verified_user("ws@trader.test")["access_token"]
    buy_and_pay(gateway, trader)
    buy_and_pay(gateway, trader)
    failing, passing = bridge.wait_opened(2)
    gateway.verified_user("ws@desk.test")
    gateway.promote("ws@desk.test", "risk")
    desk_token = gateway.login("ws@desk.test")["access_token"]
    url = f"ws://127.0.0.1:{gateway.port}/ws"
    closes: list[int] = []

    async def connect(token: str | None = None) -> Recorder:
        return Recorder(await tornado.websocket.websocket_connect(
            url + (f"?token={token}" if token else "")), document)

    async def scenario() -> list[Recorder]:
        mine = await connect(trader)
        await mine.until(lambda m: m["type"] == "authenticated")
        await mine.until(lambda m: m["type"] == "heartbeat")
        await mine.send({"type": "ping"})
        await mine.until(lambda m: m["type"] == "pong")
        await mine.send({"type": "subscribe", "accounts": [failing, passing, "T9C9P1"]})
        await mine.until(lambda m: m["type"] == "error" and m["code"] == "not_found")
        await mine.until(lambda m: m["type"] == "subscribed")
        await mine.send({"type": "subscribe", "feed": "risk"})
        await mine.until(lambda m: m.get("code") == "forbidden")
        await mine.connection.write_message("not json")
        await mine.until(lambda m: m.get("code") == "bad_message")

        desk = await connect()
        await desk.send({"type": "subscribe", "feed": "risk"})
        await desk.until(lambda m: m.get("code") == "unauthorized")
        await desk.send({"type": "auth", "token": desk_token})
        await desk.until(lambda m: m["type"] == "authenticated" and m["role"] == "risk")
        await desk.send({"type": "subscribe", "feed": "risk"})
        await desk.until(lambda m: m["type"] == "subscribed" and m["feed"] == "risk")

        # Trades: one account fails (a breach), the other passes (objective, passed).
        for event in (bridge.quote(2000.0),
                      bridge.deal(failing, 1, "buy", "in", 1.0, 2000.5),
                      bridge.deal(passing, 2, "buy", "in", 1.0, 2000.5)):
            bridge.publisher.add(event)
        # The live numbers of an account holding a position carry its breach price.
        await mine.until(lambda m: m["type"] == "metrics" and m["account"] == failing
                         and m["data"].get("open_positions") == 1
                         and (m["data"].get("breach_prices") or [{}])[0].get("price"))
        for event in (bridge.quote(2011.0),
                      bridge.deal(passing, 3, "sell", "out", 1.0, 2011.0),
                      bridge.quote(1990.0)):
            bridge.publisher.add(event)
        for kind in ("breach", "objective", "passed"):
            await mine.until(lambda m, k=kind: m["type"] == "risk_event"  # type: ignore[misc]
                             and m["event"]["type"] == k)
            await desk.until(lambda m, k=kind: m["type"] == "risk_event"  # type: ignore[misc]
                             and m["event"]["type"] == k)
        await mine.until(lambda m: m["type"] == "metrics" and m["data"]["status"] == "failed"
                         and m["data"]["equity"] == 8_950.0)
        await mine.send({"type": "unsubscribe", "accounts": [failing]})
        await mine.send({"type": "unsubscribe", "feed": "risk"})
        await mine.send({"type": "ping"})
        await mine.until(lambda m: m["type"] == "pong" and len(
            [x for x in mine.received if x["type"] == "pong"]) == 2)

        # How connections end, each with a documented close code.
        bad = await connect("not-a-token")
        closes.append(await bad.closed())
        silent = await connect()
        closes.append(await silent.closed())
        big = await connect(trader)
        await big.until(lambda m: m["type"] == "authenticated")
        await big.connection.write_message("x" * (70 * 1024))
        closes.append(await big.closed())
        # The client's side of every connection too, those the server closed included:
        # an unclosed WebSocketClientConnection warns when it is freed, in a later test.
        for recorder in (mine, desk, bad, silent, big):
            recorder.connection.close()
        return [mine, desk, bad, silent, big]

    recorders = gateway.call(scenario(), timeout=90)  # a dozen steps, each within 30 s
    seen: set[str] = set()
    for recorder in recorders:
        for message in recorder.received:
            seen.add(document.check(message, "send"))
    promised = {name for name, action in document.direction.items() if action == "send"}
    assert seen == promised, promised - seen
    assert closes == [4001, 4001, 1009]
    documented = {entry["code"] for entry in
                  document.document["channels"]["live"]["x-close-codes"]}
    assert set(closes) <= documented


def test_a_message_the_document_does_not_describe_is_caught() -> None:
    """The strict check the live test relies on can fail: a field or type the document
    lacks, or a wrong type, is refused."""
    from gateway.asyncapi import document as asyncapi_document

    document = Document(copy.deepcopy(asyncapi_document("test")))
    good = {"type": "metrics", "account": "A1", "data": {
        "login": "A1", "status": "active", "ts": "2026-03-02T08:00:00Z",
        "open_positions": 0, "balance": 1.0, "equity": 1.0, "daily_floor": None,
        "max_loss_floor": 0.5}}
    assert document.check(good, "send") == "metrics"
    priced = {**good, "data": {**good["data"], "trading_days": 1, "day_start_balance": 1.0,
                               "day_start_equity": 1.0, "breach_prices": [
                                   {"symbol": "XAUUSD", "price": 1950.0, "quote": "bid",
                                    "net_volume": 1.0, "floor": "daily"}]}}
    assert document.check(priced, "send") == "metrics"
    for bad in ({**good, "extra": 1},
                {**good, "data": {**good["data"], "status": "closed"}},
                {**good, "data": {**good["data"], "equity": "1.00"}},
                {**priced, "data": {**priced["data"], "breach_prices": [
                    {"symbol": "XAUUSD", "price": 1950.0, "quote": "mid",
                     "net_volume": 1.0, "floor": "daily"}]}},
                {"type": "metrics_v2", "account": "A1"}):
        with pytest.raises(AssertionError):
            document.check(bad, "send")
