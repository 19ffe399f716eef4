"""The desk's monitor of challenges, its users and its audit log: each list filtered,
paged, kept to its firm, refused to whom the roles policy refuses it, and a wrong filter a
422 naming the parameter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from gateway.staff import create_user
from tests.gateway.conftest import PASSWORD, Gateway
from tests.gateway.test_journey import PROGRAM

ACME = {"headers": {"Host": "acme.test"}}


def member(gateway: Gateway, address: str, role: str = "trader", name: str = "",
           firm: str | None = None) -> str:
    """A verified user of the firm (made as ``proptrade users create`` does: registering
    is rate-limited per address), signed in: its access token."""
    assert gateway.services is not None
    gateway.call(create_user(gateway.services.pool, address, PASSWORD, role, firm, name))
    headers = {"headers": {"Host": "acme.test"}} if firm == "acme" else {}
    return gateway.login(address, **headers)["access_token"]  # type: ignore[no-any-return]


def another_firm(gateway: Gateway) -> None:
    gateway.sql("INSERT INTO tenants (slug, name) VALUES ('acme', 'Acme')")
    gateway.sql("INSERT INTO tenant_domains (domain, tenant_id) SELECT 'acme.test', id "
                "FROM tenants WHERE slug = 'acme'")


def listed(gateway: Gateway, path: str, token: str, **kwargs: object) -> list[dict]:
    answer = gateway.get(path, token, **kwargs)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def refused(gateway: Gateway, path: str, token: str, name: str) -> str:
    answer = gateway.get(path, token)
    assert answer.status_code == 422, (path, answer.text)
    assert answer.json()["error"]["fields"][0]["path"] == name, answer.text
    return str(answer.json()["error"]["message"])


def test_the_challenges_monitor(gateway: Gateway) -> None:
    admin = member(gateway, "boss@firm.test", "admin")
    assert gateway.post("/api/v1/admin/programs", PROGRAM, admin).status_code == 201
    silver = {**PROGRAM, "slug": "silver-5k", "name": "Silver 5k"}
    assert gateway.post("/api/v1/admin/programs", silver, admin).status_code == 201
    desk = member(gateway, "desk@firm.test", "risk")
    traders = {}
    for name, program in (("ana", "gold-10k"), ("bob", "gold-10k"), ("cy_d", "silver-5k")):
        token = member(gateway, f"{name}@trader.test", name=f"{name.title()} Trader")
        answer = gateway.post("/api/v1/challenges", {"program": program}, token)
        assert answer.status_code == 201, answer.text
        traders[name] = (token, answer.json()["id"])
    ana, bob, cyd = (traders[n][1] for n in ("ana", "bob", "cy_d"))
    # Bob passed phase 1 of a program under review: phase 2 waits for an admin.
    gateway.sql("UPDATE challenges SET status = 'review', phase = 1 WHERE id = $1", bob)
    gateway.sql("INSERT INTO trading_accounts (tenant_id, challenge_id, user_id, phase, "
                "login, engine_program, broker, status) SELECT tenant_id, id, user_id, 0, "
                "'T1C' || id || 'P1', 'default.gold-10k.p1', 'none', 'passed' "
                "FROM challenges WHERE id = $1", bob)

    everything = listed(gateway, "/api/v1/risk/challenges", desk)
    assert [c["id"] for c in everything] == [cyd, bob, ana]  # newest first
    [review] = listed(gateway, "/api/v1/risk/challenges?status=review", desk)
    assert review["id"] == bob and review["trader_email"] == "bob@trader.test"
    assert review["trader_name"] == "Bob Trader"
    assert (review["passed_phase_name"], review["phase_name"]) == ("Phase 1", "Phase 2")
    assert [(a["login"], a["status"]) for a in review["accounts"]] == [
        (f"T1C{bob}P1", "passed")]
    pending = listed(gateway, "/api/v1/risk/challenges?status=pending_payment", desk)
    assert [c["id"] for c in pending] == [cyd, ana]
    assert all(c["passed_phase_name"] is None for c in pending)
    assert [c["id"] for c in listed(gateway, "/api/v1/risk/challenges?program=silver-5k",
                                    desk)] == [cyd]
    # The search: a trader's e-mail or name, an account's login; "_" taken literally.
    assert [c["id"] for c in listed(gateway, "/api/v1/risk/challenges?q=ANA@", desk)] == [ana]
    assert [c["id"] for c in listed(gateway, "/api/v1/risk/challenges?q=bob%20tr",
                                    desk)] == [bob]
    assert [c["id"] for c in listed(gateway, f"/api/v1/risk/challenges?q=c{bob}p1",
                                    desk)] == [bob]
    assert [c["id"] for c in listed(gateway, "/api/v1/risk/challenges?q=y_d", desk)] == [cyd]
    assert listed(gateway, "/api/v1/risk/challenges?q=y%25d", desk) == []
    assert listed(gateway, "/api/v1/risk/challenges?status=review&program=silver-5k",
                  desk) == []
    # Pages: the last id of a page asks for the next.
    first = listed(gateway, "/api/v1/risk/challenges?limit=2", desk)
    assert [c["id"] for c in first] == [cyd, bob]
    rest = listed(gateway, f"/api/v1/risk/challenges?limit=2&before={bob}", desk)
    assert [c["id"] for c in rest] == [ana]
    # Admins read it too; a trader has no such route; another firm's desk sees none.
    assert len(listed(gateway, "/api/v1/risk/challenges", admin)) == 3
    assert gateway.get("/api/v1/risk/challenges", traders["ana"][0]).status_code == 404
    another_firm(gateway)
    acme = member(gateway, "desk@acme.test", "risk", firm="acme")
    assert listed(gateway, "/api/v1/risk/challenges", acme, **ACME) == []
    answer = gateway.get("/api/v1/risk/challenges?program=gold-10k", acme, **ACME)
    assert answer.status_code == 422 and "no program 'gold-10k'" in answer.text
    # Approving stays the admins': the risk desk and another firm's admin are refused.
    assert gateway.post(f"/api/v1/admin/challenges/{bob}/approve", None,
                        desk).status_code == 404
    acme_admin = member(gateway, "boss@acme.test", "admin", firm="acme")
    assert gateway.post(f"/api/v1/admin/challenges/{bob}/approve", None, acme_admin,
                        **ACME).status_code == 404
    assert gateway.sql("SELECT status FROM challenges WHERE id = $1", bob)[0][0] == "review"

    # Wrong filters: a 422 naming the parameter.
    assert "review" in refused(gateway, "/api/v1/risk/challenges?status=waiting", desk,
                               "status")
    assert "no program 'nope'" in refused(gateway, "/api/v1/risk/challenges?program=nope",
                                          desk, "program")
    refused(gateway, "/api/v1/risk/challenges?q=" + "x" * 201, desk, "q")
    refused(gateway, "/api/v1/risk/challenges?limit=0", desk, "limit")
    refused(gateway, "/api/v1/risk/challenges?limit=501", desk, "limit")
    refused(gateway, "/api/v1/risk/challenges?before=last", desk, "before")
    refused(gateway, "/api/v1/risk/challenges?before=0", desk, "before")


def test_users_are_searched_paged_and_changed_by_rank(gateway: Gateway) -> None:
    admin = member(gateway, "boss@firm.test", "admin")
    desk = member(gateway, "desk@firm.test", "risk")
    for name in ("ana", "bob", "cy"):
        member(gateway, f"{name}@trader.test", name="Bobby Tables" if name == "bob" else "")
    member(gateway, "peer@firm.test", "admin")

    everyone = listed(gateway, "/api/v1/admin/users", admin)
    assert [u["email"] for u in everyone] == ["boss@firm.test", "desk@firm.test",
                                              "ana@trader.test", "bob@trader.test",
                                              "cy@trader.test", "peer@firm.test"]
    assert all(u["disabled"] is False for u in everyone)
    assert [u["email"] for u in listed(gateway, "/api/v1/admin/users?q=TABLES", admin)] \
        == ["bob@trader.test"]
    page = listed(gateway, "/api/v1/admin/users?q=trader.test&limit=2", admin)
    assert [u["email"] for u in page] == ["ana@trader.test", "bob@trader.test"]
    rest = listed(gateway, f"/api/v1/admin/users?q=trader.test&limit=2&after={page[-1]['id']}",
                  admin)
    assert [u["email"] for u in rest] == ["cy@trader.test"]
    refused(gateway, "/api/v1/admin/users?after=x", admin, "after")
    refused(gateway, "/api/v1/admin/users?q=" + "x" * 201, admin, "q")
    # The roles policy: the risk desk neither lists nor changes users.
    assert gateway.get("/api/v1/admin/users", desk).status_code == 404
    ana = next(u for u in everyone if u["email"] == "ana@trader.test")
    assert gateway.request("PATCH", f"/api/v1/admin/users/{ana['id']}", desk,
                           json={"disabled": True}).status_code == 404

    # An admin disables a trader (the answer says so) and enables it again.
    disabled = gateway.request("PATCH", f"/api/v1/admin/users/{ana['id']}", admin,
                               json={"disabled": True, "reason": "chargeback"})
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    [shown] = listed(gateway, "/api/v1/admin/users?q=ana@", admin)
    assert shown["disabled"] is True
    enabled = gateway.request("PATCH", f"/api/v1/admin/users/{ana['id']}", admin,
                              json={"disabled": False})
    assert enabled.json()["disabled"] is False
    # What the rank rules refuse comes back with its reason.
    peer = next(u for u in everyone if u["email"] == "peer@firm.test")
    rank = gateway.request("PATCH", f"/api/v1/admin/users/{peer['id']}", admin,
                           json={"role": "trader"})
    assert rank.status_code == 403 and "only the owner acts on them" in rank.text
    above = gateway.request("PATCH", f"/api/v1/admin/users/{ana['id']}", admin,
                            json={"role": "owner"})
    assert above.status_code == 403 and "above your own" in above.text
    boss = everyone[0]
    own = gateway.request("PATCH", f"/api/v1/admin/users/{boss['id']}", admin,
                          json={"disabled": True})
    assert own.status_code == 409 and own.json()["error"]["code"] == "self_change"

    # Another firm's admin sees none of these users and cannot change them.
    another_firm(gateway)
    acme = member(gateway, "boss@acme.test", "admin", firm="acme")
    assert [u["email"] for u in listed(gateway, "/api/v1/admin/users", acme, **ACME)] == [
        "boss@acme.test"]
    assert gateway.request("PATCH", f"/api/v1/admin/users/{ana['id']}", acme,
                           json={"disabled": True}, **ACME).status_code == 404


def test_the_audit_log_is_filtered_and_paged(gateway: Gateway) -> None:
    admin = member(gateway, "boss@firm.test", "admin")
    assert gateway.post("/api/v1/admin/programs", PROGRAM, admin).status_code == 201
    member(gateway, "ana@trader.test")
    peer = member(gateway, "peer@firm.test", "admin")
    users = {u["email"]: u["id"] for u in listed(gateway, "/api/v1/admin/users", admin)}
    ana = users["ana@trader.test"]
    for token, body in ((admin, {"role": "risk"}), (peer, {"disabled": True,
                                                           "reason": "fraud"})):
        answer = gateway.request("PATCH", f"/api/v1/admin/users/{ana}", token, json=body)
        assert answer.status_code == 200, answer.text

    log = listed(gateway, "/api/v1/admin/audit", admin)
    assert [e["action"] for e in log] == ["user.update", "user.update", "program.create"]
    assert (log[0]["actor"], log[0]["before"], log[0]["after"], log[0]["reason"]) == (
        "peer@firm.test", {"role": "risk", "disabled": False},
        {"role": "risk", "disabled": True}, "fraud")
    assert [e["id"] for e in listed(gateway, "/api/v1/admin/audit?actor=PEER@", admin)] \
        == [log[0]["id"]]
    assert [e["id"] for e in listed(gateway, "/api/v1/admin/audit?action=program.create",
                                    admin)] == [log[2]["id"]]
    assert len(listed(gateway, f"/api/v1/admin/audit?target_type=user&target={ana}",
                      admin)) == 2
    assert listed(gateway, f"/api/v1/admin/audit?target_type=program&target={ana}",
                  admin) == []
    at = datetime.fromisoformat(log[1]["at"])
    since = quote(at.isoformat())
    assert [e["id"] for e in listed(gateway, f"/api/v1/admin/audit?from={since}", admin)] \
        == [log[0]["id"], log[1]["id"]]
    assert [e["id"] for e in listed(gateway, f"/api/v1/admin/audit?to={since}", admin)] \
        == [log[2]["id"]]
    later = quote((datetime.now(UTC) + timedelta(hours=1)).isoformat())
    assert listed(gateway, f"/api/v1/admin/audit?from={later}", admin) == []
    assert [e["id"] for e in listed(
        gateway, f"/api/v1/admin/audit?limit=1&before={log[0]['id']}", admin)] == [
        log[1]["id"]]

    # Wrong filters name themselves; the desk and another firm are refused or see none.
    assert "user.update" in refused(gateway, "/api/v1/admin/audit?action=user.delete",
                                    admin, "action")
    refused(gateway, "/api/v1/admin/audit?target_type=users", admin, "target_type")
    refused(gateway, "/api/v1/admin/audit?from=yesterday", admin, "from")
    assert "zone" in refused(gateway, "/api/v1/admin/audit?to=2026-12-03T06:00:00", admin,
                             "to")
    refused(gateway, f"/api/v1/admin/audit?from={later}&to={since}", admin, "to")
    refused(gateway, "/api/v1/admin/audit?before=-1", admin, "before")
    refused(gateway, "/api/v1/admin/audit?target=" + "1" * 101, admin, "target")
    desk = member(gateway, "desk@firm.test", "risk")
    assert gateway.get("/api/v1/admin/audit", desk).status_code == 404
    another_firm(gateway)
    acme = member(gateway, "boss@acme.test", "admin", firm="acme")
    assert listed(gateway, "/api/v1/admin/audit", acme, **ACME) == []
