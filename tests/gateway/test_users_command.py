"""``proptrade users create``: the first admin, risk officer or owner, signed in over
HTTP with the password given; every refusal names what is wrong."""

from __future__ import annotations

import getpass
import io
import sys

import pytest

from streams import cli
from tests.gateway.conftest import DSN, Gateway

STRONG = "violet tractor anthem"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(gateway: Gateway, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
        *args: str, stdin: str = f"{STRONG}\n", terminal: bool = False
        ) -> tuple[int, str, str]:
    monkeypatch.setenv("DATABASE_URL", DSN)
    monkeypatch.setattr(sys, "stdin", (Terminal if terminal else io.StringIO)(stdin))
    status = cli.main(["users", "create", "--schema", gateway.schema, *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_users_create_makes_a_verified_user_who_signs_in(
        gateway: Gateway, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    status, out, err = run(gateway, monkeypatch, capsys, "--email", "Boss@Firm.test",
                           "--role", "admin", "--name", "The Boss", "--password-stdin")
    assert status == 0, err
    assert "created admin boss@firm.test" in out and "at firm 'default'" in out
    assert "sign in at http://localhost:8000" in out  # the configured address (PUBLIC_URL)
    tokens = gateway.login("boss@firm.test", STRONG)
    me = gateway.get("/api/v1/me", tokens["access_token"]).json()
    assert me["role"] == "admin" and me["email_verified"] and me["display_name"] == "The Boss"
    # The new admin can act as one at once.
    assert gateway.get("/api/v1/admin/users", tokens["access_token"]).status_code == 200

    # A risk officer of another firm, named by its slug, with its domain's link.
    gateway.promote("boss@firm.test", "owner")
    owner = gateway.login("boss@firm.test", STRONG)["access_token"]
    assert gateway.post("/api/v1/owner/tenants", {
        "slug": "nova", "domains": ["trade.nova.test"],
        "branding": {"name": "Nova"}}, owner).status_code == 201
    status, out, err = run(gateway, monkeypatch, capsys, "--email", "desk@nova.test",
                           "--role", "risk", "--firm", "nova", "--password-stdin")
    assert status == 0, err
    assert "at firm 'nova' (Nova)" in out and "sign in at https://trade.nova.test" in out
    nova = {"Host": "trade.nova.test"}
    desk = gateway.login("desk@nova.test", STRONG, headers=nova)["access_token"]
    assert gateway.get("/api/v1/risk/events", desk, headers=nova).status_code == 200


def test_users_create_asks_at_a_terminal(gateway: Gateway, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture) -> None:
    answers = iter([STRONG, STRONG, STRONG, "something else entirely"])
    monkeypatch.setattr(getpass, "getpass", lambda prompt: next(answers))
    status, _, err = run(gateway, monkeypatch, capsys, "--email", "own@er.test",
                           "--role", "owner", stdin="", terminal=True)
    assert status == 0, err
    assert gateway.get("/api/v1/me", gateway.login("own@er.test", STRONG)["access_token"]
                       ).json()["role"] == "owner"
    status, _, err = run(gateway, monkeypatch, capsys, "--email", "two@er.test",
                         "--role", "owner", stdin="", terminal=True)
    assert status == 1 and "the two passwords differ" in err


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (("--firm", "nope"), STRONG, "no firm with slug 'nope' (firms: default)"),
    ((), "short", "the password must be at least 10 characters"),
    ((), "aaaaaaaaaaaa", "the password must use at least 4 different characters"),
    ((), "dupe@firm.test and more", "the password must not contain your e-mail address"),
    ((), "", "--password-stdin: standard input is empty"),
])
def test_users_create_names_what_is_wrong(
        gateway: Gateway, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
        args: tuple[str, ...], stdin: str, message: str) -> None:
    status, out, err = run(gateway, monkeypatch, capsys, "--email", "dupe@firm.test",
                           "--role", "risk", "--password-stdin", *args,
                           stdin=stdin + "\n" if stdin else "")
    assert status == 1, (out, err)
    assert f"proptrade users create: error: {message}" in err
    assert gateway.sql("SELECT count(*) FROM users")[0][0] == 0


def test_users_create_refuses_a_taken_address_and_bad_arguments(
        gateway: Gateway, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    gateway.verified_user("taken@firm.test")
    status, _, err = run(gateway, monkeypatch, capsys, "--email", "Taken@firm.test",
                         "--role", "admin", "--password-stdin")
    assert status == 1
    assert "taken@firm.test already has an account at firm 'default' (role trader)" in err
    assert gateway.get("/api/v1/me", gateway.login("taken@firm.test")["access_token"]
                       ).json()["role"] == "trader"  # untouched
    status, _, err = run(gateway, monkeypatch, capsys, "--email", "not-an-address",
                         "--role", "admin", "--password-stdin")
    assert status == 1 and "'not-an-address' is not an e-mail address" in err
    status, _, err = run(gateway, monkeypatch, capsys, "--email", "x@y.test",
                         "--role", "admin", "--name", "bad\nname", "--password-stdin")
    assert status == 1 and "the name 'bad\\nname' has control characters" in err
    with pytest.raises(SystemExit) as exited:
        run(gateway, monkeypatch, capsys, "--email", "x@y.test", "--role", "boss")
    assert exited.value.code == 2
    assert "invalid choice: 'boss'" in capsys.readouterr().err
    status, _, err = run(gateway, monkeypatch, capsys, "--email", "x@y.test", "--role",
                         "admin", stdin="")
    assert status == 1 and "pipe it with --password-stdin" in err
    assert gateway.sql("SELECT count(*) FROM users")[0][0] == 1
