"""The platform owner's firms list with each firm's health."""

from __future__ import annotations

from tests.gateway.conftest import Gateway


def test_the_platform_owner_sees_every_firm_with_its_health(gateway: Gateway) -> None:
    gateway.verified_user("root@platform.test")
    gateway.promote("root@platform.test", "owner")
    owner = gateway.login("root@platform.test")["access_token"]
    created = gateway.post("/api/v1/owner/tenants", {
        "slug": "nova", "domains": ["trade.nova.test", "nova.test"],
        "branding": {"name": "Nova Funding", "primary_color": "#123456"}}, owner)
    assert created.status_code == 201, created.text
    nova = created.json()["id"]
    # Nova: two accounts (one live, one failed), a breach today and one yesterday, three
    # payments (two paid in USD, one today; one pending), one in EUR.
    gateway.sql("INSERT INTO users (tenant_id, email, password_hash, role) "
                "VALUES ($1, 'ana@nova.test', 'x', 'trader')", nova)
    for login, status in (("N1", "active"), ("N2", "failed")):
        gateway.sql("INSERT INTO trading_accounts (tenant_id, phase, login, engine_program, "
                    "broker, origin, status) VALUES ($1, 0, $2, 'p', 'demo', 'broker', $3)",
                    nova, login, status)
    for event, ts in (("n:1:0", "now()"), ("n:2:0", "now() - interval '1 day'")):
        gateway.sql("INSERT INTO risk_events (id, tenant_id, account_id, kind, rule, payload,"
                    f" ts) SELECT $1, $2, id, 'breach', 'max_loss', '{{}}', {ts} "
                    "FROM trading_accounts WHERE login = 'N2'", event, nova)
    gateway.sql("INSERT INTO programs (tenant_id, slug, name, phases, price_cents, currency,"
                " account_size_cents) SELECT $1, 'n-10k', 'N 10k', '[]', 10000, 'USD', "
                "1000000", nova)
    gateway.sql("INSERT INTO challenges (tenant_id, user_id, program_id, status) "
                "SELECT $1, u.id, p.id, 'active' FROM users u, programs p "
                "WHERE u.email = 'ana@nova.test' AND p.slug = 'n-10k'", nova)
    for reference, cents, currency, status, paid in (
            ("a", 15_500, "USD", "paid", "now()"),
            ("b", 9_999, "USD", "paid", "now() - interval '2 days'"),
            ("c", 50_000, "USD", "pending", "NULL"),
            ("d", 1, "EUR", "paid", "now() - interval '3 days'")):
        gateway.sql("INSERT INTO payments (tenant_id, challenge_id, provider, amount_cents, "
                    f"currency, status, reference, paid_at) SELECT $1, c.id, 'manual', $2, $3,"
                    f" $4, $5, {paid} FROM challenges c WHERE c.tenant_id = $1", nova, cents,
                    currency, status, reference)

    answer = gateway.get("/api/v1/owner/tenants", owner)
    assert answer.status_code == 200, answer.text
    firms = {firm["slug"]: firm for firm in answer.json()}
    assert set(firms) >= {"default", "nova"}
    assert firms["nova"] == {
        "id": nova, "slug": "nova", "name": "Nova Funding",
        "domains": ["trade.nova.test", "nova.test"], "users": 1, "accounts": 2,
        "live_accounts": 1, "breaches_today": 1,
        "revenue": [{"currency": "EUR", "amount": "0.01"},
                    {"currency": "USD", "amount": "254.99"}],
        "revenue_today": [{"currency": "USD", "amount": "155.00"}]}
    assert firms["default"]["users"] >= 1 and firms["default"]["revenue"] == []

    # Nobody else: an admin, and a firm's own owner at its firm's host, get 404.
    gateway.verified_user("boss@firm.test")
    gateway.promote("boss@firm.test", "admin")
    admin = gateway.login("boss@firm.test")["access_token"]
    assert gateway.get("/api/v1/owner/tenants", admin).status_code == 404
    host = {"Host": "trade.nova.test"}
    gateway.verified_user("own@nova.test", headers=host)
    gateway.sql("UPDATE users SET role = 'owner' WHERE email = 'own@nova.test'")
    theirs = gateway.login("own@nova.test", headers=host)["access_token"]
    assert gateway.get("/api/v1/owner/tenants", theirs, headers=host).status_code == 404
    assert gateway.get("/api/v1/owner/tenants").status_code == 401
