"""A firm's admins edit its settings: name, colours (with a contrast warning), a font from
the safe list, support e-mail, allowed origins and domains (unique across firms) — each
refusal a 422 naming the field; one firm's admin never reaches another firm."""

from __future__ import annotations

from typing import Any

from tests.gateway.conftest import Gateway


def staff(gateway: Gateway, role: str, host: str = "127.0.0.1") -> str:
    address = f"{role}@{host.replace(':', '-')}.example.com"
    gateway.verified_user(address, headers={"Host": host})
    gateway.promote(address, role)
    return str(gateway.login(address, headers={"Host": host})["access_token"])


def put(gateway: Gateway, body: Any, token: str | None, host: str | None = None):
    return gateway.request("PUT", "/api/v1/admin/tenant", token, json=body,
                           headers={"Host": host} if host else {})


def add_firm(gateway: Gateway, slug: str, domain: str) -> None:
    gateway.sql("INSERT INTO tenants (slug, name) VALUES ($1, $2)", slug, slug.title())
    gateway.sql("INSERT INTO tenant_domains (domain, tenant_id) "
                "SELECT $1, id FROM tenants WHERE slug = $2", domain, slug)


SETTINGS = {"branding": {"name": "Acme Funding", "primary_color": "#1d4ed8",
                         "accent_color": "#b45309", "font": "serif",
                         "support_email": "help@acme.example"},
            "cors_origins": ["https://app.acme.example"],
            "domains": ["trade.acme.example", "acme.example"]}


def test_admin_reads_and_changes_the_firms_settings(gateway: Gateway) -> None:
    admin = staff(gateway, "admin")
    before = gateway.get("/api/v1/admin/tenant", admin)
    assert before.status_code == 200, before.text
    assert before.json()["branding"]["name"] == "PropTrade"
    answer = put(gateway, SETTINGS, admin)
    assert answer.status_code == 200, answer.text
    out = answer.json()
    assert out["branding"]["font"] == "serif"
    assert out["domains"] == ["trade.acme.example", "acme.example"]  # primary first
    assert out["cors_origins"] == ["https://app.acme.example"]
    assert out["warnings"] == []
    assert gateway.get("/api/v1/admin/tenant", admin).json()["domains"] == out["domains"]
    theme = gateway.get("/theme.css").text
    assert "--brand: #1d4ed8" in theme and "--font-sans: Charter," in theme
    # served at its new domain; a body without domains leaves them alone
    assert gateway.get("/api/v1/tenant", headers={"Host": "acme.example"}).json()[
        "name"] == "Acme Funding"
    kept = put(gateway, {"branding": {"name": "Acme"}, "cors_origins": []}, admin)
    assert kept.json()["domains"] == out["domains"]
    # the change is audited
    actions = [row["action"] for row in gateway.sql("SELECT action FROM audit_log")]
    assert "tenant.update" in actions


def test_a_pale_primary_colour_is_saved_with_a_warning(gateway: Gateway) -> None:
    admin = staff(gateway, "admin")
    answer = put(gateway, {"branding": {"name": "Pale", "primary_color": "#fde68a"}}, admin)
    assert answer.status_code == 200
    [warning] = answer.json()["warnings"]
    assert warning["path"] == "$.branding.primary_color"
    assert "contrast of 1.2:1, below the 4.5:1" in warning["message"]


def test_bad_settings_are_refused_naming_the_field(gateway: Gateway) -> None:
    admin = staff(gateway, "admin")
    add_firm(gateway, "beta", "beta.example")
    cases = [
        ({"branding": {"name": "X", "primary_color": "blue"}}, "$.branding.primary_color"),
        ({"branding": {"name": "X", "font": "Comic Sans"}}, "$.branding.font"),
        ({"branding": {"name": "X", "font": "https://fonts.example/x.woff2"}},
         "$.branding.font"),
        ({"branding": {"name": "X", "support_email": "not an address"}},
         "$.branding.support_email"),
        ({"branding": {"name": "X"}, "cors_origins": ["javascript:alert(1)"]},
         "$.cors_origins[0]"),
        ({"branding": {"name": "X"}, "domains": ["ok.example", "bad_host!"]}, "$.domains[1]"),
        ({"branding": {"name": "X"}, "domains": ["beta.example"]}, "$.domains[0]"),
        ({"branding": {"name": "X"}, "domains": ["localhost"]}, "$.domains[0]"),
        ({"branding": {"name": "X"}, "domains": ["a.example", "a.example"]}, "$.domains[1]"),
    ]
    for body, path in cases:
        answer = put(gateway, body, admin)
        assert answer.status_code == 422, (body, answer.text)
        assert [f["path"] for f in answer.json()["error"]["fields"]] == [path], answer.text
    taken = put(gateway, {"branding": {"name": "X"}, "domains": ["beta.example"]}, admin)
    assert "another firm's domain" in taken.json()["error"]["message"]
    assert gateway.get("/api/v1/tenant").json()["name"] == "PropTrade"  # nothing saved


def test_only_a_firms_own_admins_change_it(gateway: Gateway) -> None:
    add_firm(gateway, "beta", "beta.example")
    trader, risk = staff(gateway, "trader"), staff(gateway, "risk")
    assert gateway.get("/api/v1/admin/tenant").status_code == 401
    for token in (trader, risk):
        assert gateway.get("/api/v1/admin/tenant", token).status_code == 404
        assert put(gateway, SETTINGS, token).status_code == 404
    admin = staff(gateway, "admin")
    # firm A's admin token at firm B's host is not a session there
    assert put(gateway, SETTINGS, admin, host="beta.example").status_code == 401
    assert gateway.get("/api/v1/admin/tenant", admin,
                       headers={"Host": "beta.example"}).status_code == 401
    beta = staff(gateway, "admin", "beta.example")
    answer = put(gateway, {"branding": {"name": "Beta Capital", "primary_color": "#0b7a3e"}},
                 beta, host="beta.example")
    assert answer.status_code == 200, answer.text
    assert answer.json()["domains"] == ["beta.example"]
    assert gateway.get("/api/v1/tenant").json()["name"] == "PropTrade"  # A untouched
    mine = gateway.get("/api/v1/admin/tenant", beta, headers={"Host": "beta.example"})
    assert mine.json()["slug"] == "beta"
