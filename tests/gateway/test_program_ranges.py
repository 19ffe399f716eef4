"""Numbers in a program document beyond what the engine holds exactly (issue 10: the
integer 10**23 reached a 500): the engine's own parser refuses them, so creating or
editing a program answers 422 naming the field and the range, and stores nothing."""

from __future__ import annotations

import copy
import json

import pytest

from tests.gateway.conftest import Gateway
from tests.gateway.test_journey import PROGRAM, admin_token

HUGE = 10**23  # beyond 64 bits: no JSON library of the platform could store it

CASES = [
    # (where in phase 1's document, the value, text the message must contain)
    ("rules.max_loss.amount", HUGE, "1,000,000,000,000"),
    ("rules.daily_loss.amount", 1e15, "1,000,000,000,000"),
    ("rules.max_exposure.lots", HUGE, "1,000,000,000"),
    ("rules.profit_target.target", HUGE, "≤ 10"),
    ("rules.max_loss.lock_at", HUGE, "≤ 10"),
    ("rules.min_trading_days.days", HUGE, "36,500"),
    ("rules.inactivity.days", HUGE, "36,500"),
    ("name", HUGE, "string"),
    ("description", HUGE, "string"),
]


def with_value(path: str, value: object) -> dict:
    body = copy.deepcopy(PROGRAM)
    node = body["phases"][0]["document"]
    *parents, leaf = path.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    if leaf == "amount":
        node.pop("limit", None)  # amount and limit exclude each other
    node[leaf] = value
    return body


@pytest.mark.parametrize(("path", "value", "words"), CASES, ids=[c[0] for c in CASES])
def test_an_out_of_range_number_in_a_program_document_is_a_422_naming_the_field(
        gateway: Gateway, path: str, value: object, words: str) -> None:
    admin = admin_token(gateway)
    body = json.dumps(with_value(path, value))  # the integer as JSON writes it
    answer = gateway.request("POST", "/api/v1/admin/programs", admin, data=body,
                             headers={"Content-Type": "application/json"})
    assert answer.status_code == 422, answer.text
    field = answer.json()["error"]["fields"][0]
    assert field["path"] == f"$.phases[0].document.{path}"
    assert words in field["message"], field
    assert gateway.sql("SELECT count(*) FROM programs")[0][0] == 0


def test_editing_a_program_to_an_out_of_range_number_is_refused_too(gateway: Gateway) -> None:
    admin = admin_token(gateway)
    created = gateway.post("/api/v1/admin/programs", PROGRAM, admin)
    assert created.status_code == 201, created.text
    body = json.dumps(with_value("rules.max_loss.amount", HUGE))
    answer = gateway.request("PUT", f"/api/v1/admin/programs/{created.json()['id']}", admin,
                             data=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["fields"][0]["path"] == (
        "$.phases[0].document.rules.max_loss.amount")
    stored = gateway.get("/api/v1/admin/programs", admin).json()
    assert [p["phases"][0]["document"]["rules"]["max_loss"] for p in stored] == [
        PROGRAM["phases"][0]["document"]["rules"]["max_loss"]]


def test_the_largest_amounts_in_range_are_accepted(gateway: Gateway) -> None:
    admin = admin_token(gateway)
    body = with_value("rules.daily_loss.amount", 1e12)
    body["phases"][0]["document"]["rules"]["profit_target"]["target"] = 10
    answer = gateway.post("/api/v1/admin/programs", body, admin)
    assert answer.status_code == 201, answer.text
