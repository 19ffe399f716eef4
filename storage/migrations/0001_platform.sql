-- Tenants, users and sessions, e-mail, programs, challenges, payments, trading accounts,
-- risk events and the audit log: the gateway's system of record.
-- Every row that belongs to a firm carries its tenant_id; every query filters on it.

CREATE TABLE tenants (
    id bigserial PRIMARY KEY,
    slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name text NOT NULL,
    is_default boolean NOT NULL DEFAULT false,
    branding jsonb NOT NULL DEFAULT '{}',
    cors_origins text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX tenants_one_default ON tenants (is_default) WHERE is_default;

-- Custom domains and subdomains, lower case, without port.
CREATE TABLE tenant_domains (
    domain text PRIMARY KEY CHECK (domain = lower(domain)),
    tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE
);

INSERT INTO tenants (slug, name, is_default, branding) VALUES (
    'default', 'PropTrade', true,
    '{"name": "PropTrade", "primary_color": "#0f766e", "accent_color": "#f59e0b",
      "logo_url": "", "support_email": "support@localhost"}');

CREATE TABLE users (
    id bigserial PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES tenants (id),
    email text NOT NULL CHECK (email = lower(email)),
    password_hash text NOT NULL,
    role text NOT NULL DEFAULT 'trader' CHECK (role IN ('trader', 'risk', 'admin', 'owner')),
    display_name text NOT NULL DEFAULT '',
    email_verified_at timestamptz,
    disabled_at timestamptz,
    totp_secret text,
    totp_enabled_at timestamptz,
    totp_last_step bigint NOT NULL DEFAULT 0,  -- a TOTP code is accepted once
    session_epoch integer NOT NULL DEFAULT 0,  -- raised to end every session at once
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, email)
);

CREATE TABLE recovery_codes (
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash text NOT NULL,
    used_at timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

-- Single-use tokens sent by e-mail (verification, password reset), stored hashed.
CREATE TABLE email_tokens (
    token_hash text PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose text NOT NULL CHECK (purpose IN ('verify', 'reset')),
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);

-- Refresh tokens rotate: each use spends one and issues the next of its family; a spent
-- token presented again revokes the family.
CREATE TABLE refresh_tokens (
    token_hash text PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family uuid NOT NULL,
    expires_at timestamptz NOT NULL,
    spent_at timestamptz,
    revoked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);

-- Outgoing mail, sent by the mailer and retried until the SMTP server takes it.
CREATE TABLE mail_outbox (
    id bigserial PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES tenants (id),
    recipient text NOT NULL,
    subject text NOT NULL,
    text_body text NOT NULL,
    html_body text NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error text,
    sent_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL;

CREATE TABLE programs (
    id bigserial PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES tenants (id),
    slug text NOT NULL CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name text NOT NULL,
    price_cents bigint NOT NULL CHECK (price_cents >= 0),
    currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    account_size_cents bigint NOT NULL CHECK (account_size_cents > 0),
    phases jsonb NOT NULL,        -- [{"name": ..., "rules": <program document>}, ...]
    advance text NOT NULL DEFAULT 'auto' CHECK (advance IN ('auto', 'review')),
    addons jsonb NOT NULL DEFAULT '[]',
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, slug)
);

CREATE TABLE challenges (
    id bigserial PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES tenants (id),
    user_id bigint NOT NULL REFERENCES users (id),
    program_id bigint NOT NULL REFERENCES programs (id),
    status text NOT NULL DEFAULT 'pending_payment' CHECK (status IN
        ('pending_payment', 'active', 'review', 'passed', 'failed', 'cancelled')),
    phase integer NOT NULL DEFAULT 0,
    addons jsonb NOT NULL DEFAULT '[]',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX challenges_user ON challenges (tenant_id, user_id);

CREATE TABLE payments (
    id bigserial PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES tenants (id),
    challenge_id bigint NOT NULL REFERENCES challenges (id),
    provider text NOT NULL,
    amount_cents bigint NOT NULL CHECK (amount_cents >= 0),
    currency text NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'paid', 'failed')),
    reference text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    paid_at timestamptz,
    UNIQUE (provider, reference)
);

CREATE TABLE trading_accounts (
    id bigserial PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES tenants (id),
    challenge_id bigint NOT NULL REFERENCES challenges (id),
    user_id bigint NOT NULL REFERENCES users (id),
    phase integer NOT NULL,
    login text NOT NULL UNIQUE,      -- the account id in the feed
    engine_program text NOT NULL,    -- the program id the engine applies
    broker text NOT NULL,
    status text NOT NULL DEFAULT 'active' CHECK (status IN
        ('active', 'passed', 'failed', 'disabled', 'stopped')),
    created_at timestamptz NOT NULL DEFAULT now(),
    closed_at timestamptz,
    UNIQUE (challenge_id, phase)
);

-- The engine's answers as the gateway received them; id is the answer's stable id, so a
-- redelivered answer changes nothing.
CREATE TABLE risk_events (
    id text PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES tenants (id),
    account_id bigint NOT NULL REFERENCES trading_accounts (id),
    kind text NOT NULL,
    rule text,
    payload jsonb NOT NULL,
    ts timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    acknowledged_by bigint REFERENCES users (id),
    acknowledged_at timestamptz,
    overridden_by bigint REFERENCES users (id),
    overridden_at timestamptz,
    override_reason text
);
CREATE INDEX risk_events_tenant_ts ON risk_events (tenant_id, ts DESC);

CREATE TABLE audit_log (
    id bigserial PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES tenants (id),
    actor_id bigint REFERENCES users (id),
    action text NOT NULL,
    target_type text NOT NULL,
    target_id text NOT NULL,
    before jsonb,
    after jsonb,
    reason text,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_tenant_at ON audit_log (tenant_id, at DESC);
