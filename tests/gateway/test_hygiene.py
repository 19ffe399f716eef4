"""Tenants by host, one error shape, security headers, body limits, health, OpenAPI."""

from __future__ import annotations

import requests

from tests.gateway.conftest import Gateway


def add_tenant(gateway: Gateway, slug: str, domain: str, origins: list[str] | None = None
               ) -> int:
    [row] = gateway.sql(
        "INSERT INTO tenants (slug, name, branding, cors_origins) VALUES ($1, $2, $3, $4) "
        "RETURNING id", slug, slug.title() + " Capital",
        '{"primary_color": "#112233", "support_email": "help@' + domain + '"}',
        origins or [])
    gateway.sql("INSERT INTO tenant_domains (domain, tenant_id) VALUES ($1, $2)", domain,
                row["id"])
    gateway.services.tenants.forget()
    return int(row["id"])


def test_tenant_from_host_and_branding(configured) -> None:
    gateway = configured(public_base_domain="platform.test")
    add_tenant(gateway, "acme", "trade.acme.test")
    default = gateway.get("/api/v1/tenant").json()
    assert default["slug"] == "default" and default["name"] == "PropTrade"
    acme = gateway.get("/api/v1/tenant", headers={"Host": "trade.acme.test"}).json()
    assert acme == {"slug": "acme", "name": "Acme Capital", "primary_color": "#112233",
                    "accent_color": "#f59e0b", "logo_url": "",
                    "support_email": "help@trade.acme.test", "favicon_url": ""}
    # A subdomain of the platform's domain named after the slug, and a host nobody claimed.
    assert gateway.get("/api/v1/tenant",
                       headers={"Host": "acme.platform.test"}).json()["slug"] == "acme"
    unknown = gateway.get("/api/v1/tenant", headers={"Host": "evil.test"})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_tenant"


def test_users_and_tokens_stay_in_their_tenant(gateway: Gateway) -> None:
    add_tenant(gateway, "acme", "trade.acme.test")
    acme = {"Host": "trade.acme.test"}
    # The same address registers at both firms: two separate users.
    local = gateway.verified_user("kim@example.com")
    there = gateway.verified_user("kim@example.com", headers=acme)
    assert gateway.sql("SELECT count(*) FROM users WHERE email = 'kim@example.com'")[0][0] == 2
    # A token of one firm is not valid at the other.
    crossed = gateway.get("/api/v1/me", local["access_token"], headers=acme)
    assert crossed.status_code == 401
    assert gateway.get("/api/v1/me", there["access_token"], headers=acme).status_code == 200
    # Verification mail carries the firm's own branding and domain.
    message = next(m for m in gateway.sink.messages if "Acme" in m["Subject"])
    assert "https://trade.acme.test/verify-email" in message.get_body(("html",)).get_content()


def test_cors_only_for_the_tenants_origins(gateway: Gateway) -> None:
    add_tenant(gateway, "acme", "trade.acme.test", ["https://app.acme.test"])
    allowed = gateway.request("OPTIONS", "/api/v1/tenant", headers={
        "Host": "trade.acme.test", "Origin": "https://app.acme.test"})
    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.acme.test"
    other = gateway.get("/api/v1/tenant", headers={"Host": "trade.acme.test",
                                                   "Origin": "https://evil.test"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_security_headers_and_one_error_shape(configured) -> None:
    gateway = configured(trusted_proxies=("127.0.0.1/32",))  # TLS ends at that proxy
    answer = gateway.get("/api/v1/tenant")
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in answer.headers  # plain HTTP here
    behind_tls = gateway.get("/api/v1/tenant", headers={"X-Forwarded-Proto": "https"})
    assert behind_tls.headers["Strict-Transport-Security"].startswith("max-age=")
    for method, path in (("GET", "/api/v1/nothing-here"), ("DELETE", "/api/v1/tenant"),
                         ("GET", "/api/v1/me")):
        failed = gateway.request(method, path)
        assert failed.status_code in (401, 404, 405), (method, path)
        body = failed.json()
        assert set(body) == {"error"} and {"code", "message"} <= set(body["error"])


def test_oversized_bodies_are_refused(gateway: Gateway) -> None:
    big = {"email": "a@b.co", "password": "x" * 70_000}
    answer = gateway.post("/api/v1/auth/register", big)
    assert answer.status_code == 413 and answer.json()["error"]["code"] == "body_too_large"
    # Past the server's own cap (1 MiB) the connection is closed before the body is read.
    try:
        huge = gateway.request("POST", "/api/v1/auth/register", data=b"x" * 2_000_000)
    except requests.RequestException:  # reset while sending or reading
        pass
    else:
        assert huge.status_code in (400, 413)
    assert gateway.sql("SELECT count(*) FROM users")[0][0] == 0


def test_health_and_readiness(gateway: Gateway) -> None:
    assert gateway.get("/healthz").json() == {"status": "ok", "checks": {}}
    ready = gateway.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["postgresql"] == "ok"
    assert ready.json()["checks"]["redis"] == "ok"


def test_openapi_document_matches_the_routes(gateway: Gateway) -> None:
    spec = gateway.get("/api/openapi.json").json()
    assert spec["openapi"] == "3.1.0"
    schemas = spec["components"]["schemas"]
    operations = [(path, method, op) for path, item in spec["paths"].items()
                  for method, op in item.items()]
    assert ("/api/v1/auth/login", "post") in {(p, m) for p, m, _ in operations}
    refs = []

    def collect(node) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                refs.append(node["$ref"])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(spec)
    assert refs and all(r.removeprefix("#/components/schemas/") in schemas for r in refs)
    assert schemas["RegisterIn"]["required"] == ["email", "password"]
    login = spec["paths"]["/api/v1/me"]["get"]
    assert login["security"] == [{"bearer": []}]
    docs = gateway.get("/api/docs")
    assert docs.status_code == 200 and "/api/v1/auth/login" in docs.text
    assert docs.headers["Content-Type"].startswith("text/html")


def test_prometheus_metrics_count_requests(gateway: Gateway) -> None:
    gateway.get("/api/v1/tenant")
    gateway.get("/api/v1/me")
    text = gateway.get("/metrics").text
    assert 'proptrade_http_request_seconds_count{method="GET",route="TenantHandler",' \
           'status="200"} 1.0' in text
    assert 'route="MeHandler",status="401"' in text
    assert "proptrade_websocket_clients 0.0" in text


def test_unicode_digits_are_not_numbers(gateway: Gateway) -> None:
    # "¹".isdigit() is true in Python; int("¹") fails. Found by schemathesis.
    tokens = gateway.verified_user("uni@code.test")
    assert gateway.get("/api/v1/challenges/\u00b9", tokens["access_token"]).status_code == 404
    gateway.promote("uni@code.test", "admin")
    admin = gateway.login("uni@code.test")["access_token"]
    assert gateway.get("/api/v1/admin/audit?limit=\u00b9\u00b2", admin).status_code == 422
    secret = gateway.post("/api/v1/me/2fa/setup", None, admin).json()["secret"]
    assert secret
    answer = gateway.post("/api/v1/me/2fa/confirm", {"code": "\u00b9" * 6}, admin)
    assert answer.status_code == 422


def test_admins_manage_users_and_every_change_is_audited(gateway: Gateway) -> None:
    gateway.verified_user("chief@firm.test")
    gateway.promote("chief@firm.test", "admin")
    admin = gateway.login("chief@firm.test")["access_token"]
    trader = gateway.verified_user("sus@pect.test")
    assert gateway.get("/api/v1/me", trader["access_token"]).status_code == 200
    [found] = gateway.get("/api/v1/admin/users", admin, params={"q": "pect"}).json()
    me = gateway.get("/api/v1/me", admin).json()
    assert gateway.request("PATCH", f"/api/v1/admin/users/{me['id']}", admin,
                           json={"disabled": True}).status_code == 409
    assert gateway.request("PATCH", f"/api/v1/admin/users/{found['id']}", admin,
                           json={"role": "owner"}).status_code == 403  # above its own
    blocked = gateway.request("PATCH", f"/api/v1/admin/users/{found['id']}", admin,
                              json={"disabled": True, "reason": "chargeback fraud"})
    assert blocked.status_code == 200, blocked.text
    # At once: the cached principal is dropped, the refresh family revoked.
    answer = gateway.get("/api/v1/me", trader["access_token"])
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "account_disabled"
    assert gateway.post("/api/v1/auth/refresh",
                        {"refresh_token": trader["refresh_token"]}).status_code == 401
    promoted = gateway.request("PATCH", f"/api/v1/admin/users/{found['id']}", admin,
                               json={"disabled": False, "role": "risk"})
    assert promoted.json()["role"] == "risk"
    [last, first] = gateway.get("/api/v1/admin/audit", admin).json()[:2]
    assert first["action"] == last["action"] == "user.update"
    assert first["reason"] == "chargeback fraud"
    assert first["before"] == {"role": "trader", "disabled": False}
    assert first["after"] == {"role": "trader", "disabled": True}
    assert last["after"] == {"role": "risk", "disabled": False}


def test_the_platform_creates_firms_and_firms_brand_themselves(gateway: Gateway) -> None:
    gateway.verified_user("root@platform.test")
    gateway.promote("root@platform.test", "owner")
    owner = gateway.login("root@platform.test")["access_token"]
    firm = {"slug": "nova", "domains": ["trade.nova.test"],
            "cors_origins": ["https://app.nova.test"],
            "branding": {"name": "Nova Funding", "primary_color": "#123456",
                         "support_email": "help@nova.test"}}
    created = gateway.post("/api/v1/owner/tenants", firm, owner)
    assert created.status_code == 201, created.text
    assert created.json()["domains"] == ["trade.nova.test"]
    assert gateway.post("/api/v1/owner/tenants", firm, owner).status_code == 409
    bad = gateway.post("/api/v1/owner/tenants", {**firm, "slug": "x", "branding": {
        "name": "X", "primary_color": "red"}}, owner)
    assert bad.json()["error"]["fields"][0]["path"] == "$.branding.primary_color"
    nova = {"Host": "trade.nova.test"}
    assert gateway.get("/api/v1/tenant", headers=nova).json()["name"] == "Nova Funding"

    # The firm's own admin rebrands it; an admin cannot create firms.
    gateway.verified_user("boss@nova.test", headers=nova)
    gateway.sql("UPDATE users SET role = 'admin' WHERE email = 'boss@nova.test' "
                "AND tenant_id = $1", created.json()["id"])
    admin = gateway.login("boss@nova.test", headers=nova)["access_token"]
    assert gateway.post("/api/v1/owner/tenants", {**firm, "slug": "other", "domains": []},
                        admin, headers=nova).status_code == 404
    rebrand = gateway.request("PUT", "/api/v1/admin/tenant", admin, headers=nova, json={
        "branding": {"name": "Nova Capital", "primary_color": "#654321"},
        "cors_origins": []})
    assert rebrand.status_code == 200, rebrand.text
    gateway.services.tenants.forget()
    assert gateway.get("/api/v1/tenant", headers=nova).json()["name"] == "Nova Capital"
    # The default firm is untouched.
    assert gateway.get("/api/v1/tenant").json()["name"] == "PropTrade"


def test_hsts_only_when_a_trusted_proxy_says_tls(gateway: Gateway) -> None:
    # No proxy is trusted: anyone can send X-Forwarded-Proto; it changes nothing.
    for headers in ({"X-Forwarded-Proto": "https"}, {"X-Scheme": "https"}):
        answer = gateway.get("/api/v1/tenant", headers=headers)
        assert "Strict-Transport-Security" not in answer.headers, headers


def test_ranks_protect_owners_and_peers(configured) -> None:
    from gateway.schemas import UserAdminIn
    from gateway.users import Principal

    gateway = configured(trusted_proxies=("127.0.0.1/32",))  # six sign-ups, six addresses
    ids = {}
    for n, (name, role) in enumerate((("own", "owner"), ("own2", "owner"), ("adm", "admin"),
                                      ("adm2", "admin"), ("rsk", "risk"), ("trd", "trader"))):
        gateway.verified_user(f"{name}@firm.test",
                              headers={"X-Forwarded-For": f"198.51.100.{n}"})
        gateway.promote(f"{name}@firm.test", role)
        ids[name] = gateway.sql("SELECT id FROM users WHERE email = $1",
                                f"{name}@firm.test")[0][0]
    owner = gateway.login("own@firm.test")["access_token"]
    admin = gateway.login("adm@firm.test")["access_token"]

    def patch(token: str, name: str, body: dict):
        return gateway.request("PATCH", f"/api/v1/admin/users/{ids[name]}", token, json=body)

    # An admin acts on nobody of its own rank or above, and grants nothing above its own.
    for name, body in (("own", {"role": "trader"}), ("own", {"disabled": True}),
                       ("own", {"role": "admin"}), ("adm2", {"disabled": True}),
                       ("adm2", {"role": "risk"}), ("trd", {"role": "owner"})):
        refused = patch(admin, name, body)
        assert refused.status_code == 403, (name, body, refused.text)
        assert refused.json()["error"]["code"] == "rank", refused.json()
    assert gateway.login("own@firm.test")["access_token"]
    assert gateway.get("/api/v1/me", owner).json()["role"] == "owner"
    # Below its rank, up to its own rank: allowed.
    assert patch(admin, "rsk", {"role": "admin"}).status_code == 200
    assert patch(admin, "trd", {"disabled": True}).status_code == 200
    # The owner acts on anyone but itself, other owners included.
    assert patch(owner, "adm2", {"disabled": True}).status_code == 200
    assert patch(owner, "own2", {"role": "admin"}).status_code == 200
    assert patch(owner, "own", {"role": "admin"}).status_code == 409  # itself

    # A stale view of the actor (its principal still says owner; the row no longer does)
    # does not let it act on the owner: the rank is read in the transaction.
    tenant = gateway.call(gateway.services.tenants.resolve("localhost"))
    stale = Principal(ids["own2"], tenant.id, "owner", "own2@firm.test", "jti", 0)
    desk = gateway.services.desk
    try:
        gateway.call(desk.update_user(stale, tenant, ids["own"], UserAdminIn(role="trader")))
    except Exception as error:
        assert getattr(error, "status", None) == 403, error
    else:
        raise AssertionError("a demoted owner demoted the last owner")

    # Two owners demoting each other at once: one of them stays owner.
    gateway.promote("own2@firm.test", "owner")

    async def both() -> list:
        import asyncio

        first = Principal(ids["own"], tenant.id, "owner", "own@firm.test", "a", 0)
        second = Principal(ids["own2"], tenant.id, "owner", "own2@firm.test", "b", 0)
        return await asyncio.gather(
            desk.update_user(first, tenant, ids["own2"], UserAdminIn(disabled=True)),
            desk.update_user(second, tenant, ids["own"], UserAdminIn(role="trader")),
            return_exceptions=True)

    outcomes = gateway.call(both())
    assert sorted(type(o).__name__ for o in outcomes) == ["AdminUserOut", "Forbidden"], outcomes
    owners = gateway.sql("SELECT count(*) FROM users WHERE role = 'owner' "
                         "AND disabled_at IS NULL")[0][0]
    assert owners == 1
    actions = [entry["action"] for entry in gateway.get(
        "/api/v1/admin/audit", gateway.login("own@firm.test" if outcomes[0].__class__
                                             .__name__ == "AdminUserOut" else "own2@firm.test")
        ["access_token"]).json()]
    assert actions == ["user.update"] * 5  # the refused attempts changed nothing


def test_user_search_takes_wildcards_literally(configured) -> None:
    gateway = configured(trusted_proxies=("127.0.0.1/32",))  # seven sign-ups, addresses
    gateway.verified_user("chief@firm.test")
    gateway.promote("chief@firm.test", "admin")
    admin = gateway.login("chief@firm.test")["access_token"]
    for n, address in enumerate(("a_b@x.test", "axb@x.test", "100%@x.test", "1000@x.test",
                                 "back\\slash@x.test", "backslash@x.test")):
        gateway.register(address, headers={"X-Forwarded-For": f"198.51.100.{n}"})

    def found(query: str) -> list[str]:
        answer = gateway.get("/api/v1/admin/users", admin, params={"q": query})
        assert answer.status_code == 200, answer.text
        return sorted(user["email"] for user in answer.json())

    assert found("a_b") == ["a_b@x.test"]
    assert found("_") == ["a_b@x.test"]
    assert found("0%") == ["100%@x.test"]
    assert found("%") == ["100%@x.test"]
    assert found("k\\s") == ["back\\slash@x.test"]
    assert found("\\") == ["back\\slash@x.test"]
    assert found("X.TEST") == sorted(["a_b@x.test", "axb@x.test", "100%@x.test",
                                      "1000@x.test", "back\\slash@x.test",
                                      "backslash@x.test"])


def test_digits_are_ascii_in_every_number_string(gateway: Gateway) -> None:
    from tests.gateway.test_journey import PROGRAM

    gateway.verified_user("chief@firm.test")
    gateway.promote("chief@firm.test", "admin")
    admin = gateway.login("chief@firm.test")["access_token"]
    arabic, devanagari, fullwidth = "\u0661\u0660\u0660", "\u0967\u0966\u0966", "\uff11\uff10"
    cases = [({"price": arabic}, "$.price"), ({"price": f"{devanagari}.00"}, "$.price"),
             ({"account_size": fullwidth}, "$.account_size"),
             ({"price": "99.\u0660\u0660"}, "$.price"),
             ({"addons": [{"name": "x", "price": arabic}]}, "$.addons[0].price")]
    for change, path in cases:
        answer = gateway.post("/api/v1/admin/programs", {**PROGRAM, **change}, admin)
        assert answer.status_code == 422, (change, answer.text)
        assert answer.json()["error"]["fields"][0]["path"] == path
    origin = gateway.request("PUT", "/api/v1/admin/tenant", admin, json={
        "branding": {"name": "PropTrade"}, "cors_origins": ["https://app.test:\u0668\u0660"]})
    assert origin.status_code == 422, origin.text
    assert gateway.sql("SELECT count(*) FROM programs")[0][0] == 0
    # The schema says the same: ASCII digits only.
    money = gateway.get("/api/openapi.json").json()["components"]["schemas"]["ProgramIn"][
        "properties"]["price"]["pattern"]
    assert "\\d" not in money and "[0-9]" in money


class CountingPool:
    """The gateway's pool, counting the queries made through it."""

    def __init__(self, pool) -> None:
        self.pool = pool
        self.queries = 0

    async def fetchrow(self, *args):
        self.queries += 1
        return await self.pool.fetchrow(*args)


def test_the_tenant_cache_is_bounded_and_skips_hosts_that_cannot_match(
        gateway: Gateway) -> None:
    import pytest

    from gateway.errors import NotFound
    from gateway.tenants import TenantDirectory

    add_tenant(gateway, "acme", "trade.acme.test")
    pool = CountingPool(gateway.services.pool)
    directory = TenantDirectory(pool, "platform.test", size=50)

    def resolve(host: str):
        return gateway.call(directory.resolve(host))

    # A flood of distinct hosts: each unknown one is looked up once, and the cache keeps
    # at most its bound (the newest), negative answers included.
    for n in range(200):
        with pytest.raises(NotFound):
            resolve(f"h{n}.unknown.test")
    assert pool.queries >= 200 and len(directory._cache) <= 50
    queries = pool.queries
    with pytest.raises(NotFound):
        resolve("h199.unknown.test")  # recent: answered from the cache
    assert pool.queries == queries
    # Hosts no firm can be served at: refused without a query and not remembered.
    for host in ("a" * 250 + ".test", "x" * 64 + ".test", "bad host.test", "x..y.test",
                 "a_b.test", "\u00e9t\u00e9.test", "evil.test:1:2", "10.1.2.3",
                 "[2001:db8::1]:443", "x.localhost", "-x.test", "x-.test", "test",
                 "x.y.platform.test", "platform.test", "", "\x00.test"):
        with pytest.raises(NotFound):
            resolve(host)
    assert pool.queries == queries, "a host that cannot match cost a query"
    assert len(directory._cache) <= 50
    # Those that can still resolve.
    assert resolve("trade.acme.test").slug == "acme"
    assert resolve("acme.platform.test").slug == "acme"
    assert resolve("localhost:8000").slug == "default"
    assert resolve("[::1]:8000").slug == "default"
    assert resolve("TRADE.ACME.TEST.").slug == "acme"


def test_only_the_platform_owner_creates_firms_and_no_claim_shadows_the_platform(
        configured) -> None:
    gateway = configured(public_base_domain="platform.test")
    gateway.verified_user("root@platform.test")
    gateway.promote("root@platform.test", "owner")
    root = gateway.login("root@platform.test")["access_token"]
    beta = gateway.post("/api/v1/owner/tenants", {"slug": "beta",
                                                  "branding": {"name": "Beta Funding"}}, root)
    assert beta.status_code == 201, beta.text
    # No claim under the platform's domain (it would shadow a firm's subdomain), nor the
    # domain itself, nor *.localhost (the default firm's loopback names).
    for n, domain in enumerate(("beta.platform.test", "platform.test", "x.y.platform.test",
                                "PLATFORM.test", "x.localhost")):
        answer = gateway.post("/api/v1/owner/tenants", {
            "slug": f"evil{n}", "domains": ["ok.evil.test", domain.lower()],
            "branding": {"name": "Evil"}}, root)
        assert answer.status_code == 422, (domain, answer.text)
        assert answer.json()["error"]["fields"][0]["path"] == "$.domains[1]", answer.text
    # A firm's owner is not the platform's: it creates no firm (to it the route does not
    # exist), so it cannot claim another firm's name either.
    nova = {"Host": "trade.nova.test"}
    created = gateway.post("/api/v1/owner/tenants", {
        "slug": "nova", "domains": ["trade.nova.test"], "branding": {"name": "Nova"}}, root)
    assert created.status_code == 201, created.text
    gateway.verified_user("boss@nova.test", headers=nova)
    gateway.sql("UPDATE users SET role = 'owner' WHERE email = 'boss@nova.test'")
    boss = gateway.login("boss@nova.test", headers=nova)["access_token"]
    for firm in ({"slug": "gamma", "domains": ["www.gamma.test"], "branding": {"name": "G"}},
                 {"slug": "delta", "domains": ["beta.platform.test"],
                  "branding": {"name": "D"}}):
        answer = gateway.post("/api/v1/owner/tenants", firm, boss, headers=nova)
        assert answer.status_code == 404, answer.text
    assert sorted(row[0] for row in gateway.sql("SELECT slug FROM tenants")) == \
        ["beta", "default", "nova"]
    assert gateway.get("/api/v1/tenant", headers={"Host": "beta.platform.test"}
                       ).json()["name"] == "Beta Funding"
