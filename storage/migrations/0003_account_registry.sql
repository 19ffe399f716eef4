-- Every account of a firm is on record, and keeps its row for good:
-- * origin 'platform': opened by the platform for a challenge's phase; an override opens
--   a replacement (attempt 1, 2 ...) as a row of its own, pointing at the one it replaces;
-- * origin 'broker': an account that arrived in the firm's broker feed (the simulator's, a
--   broker's own), recorded by the gateway from its `account` event: no challenge, no user.
-- status is the account's one status, the same in every endpoint: the engine's answers
-- (failed, passed, paused and resumed) and the desk's actions (stopped) keep it.
ALTER TABLE trading_accounts
    ALTER COLUMN challenge_id DROP NOT NULL,
    ALTER COLUMN user_id DROP NOT NULL,
    ADD COLUMN origin text NOT NULL DEFAULT 'platform' CHECK (origin IN ('platform', 'broker')),
    ADD COLUMN attempt integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    ADD COLUMN replaces bigint REFERENCES trading_accounts (id),
    ADD CONSTRAINT trading_accounts_origin_owner CHECK (
        (origin = 'platform') = (challenge_id IS NOT NULL AND user_id IS NOT NULL)),
    DROP CONSTRAINT trading_accounts_challenge_id_phase_key,
    DROP CONSTRAINT trading_accounts_status_check,
    ADD CONSTRAINT trading_accounts_status_check CHECK (status IN
        ('active', 'paused', 'passed', 'failed', 'disabled', 'stopped'));
CREATE UNIQUE INDEX trading_accounts_attempt ON trading_accounts (challenge_id, phase, attempt);
CREATE INDEX trading_accounts_closed_by_platform ON trading_accounts (tenant_id)
    WHERE status IN ('stopped', 'disabled');
CREATE INDEX trading_accounts_program ON trading_accounts (tenant_id, engine_program);

-- An overridden breach names the account its challenge went on on; every breach of one
-- failure (several rules on one event) shares the override and its replacement.
ALTER TABLE risk_events ADD COLUMN replacement_id bigint REFERENCES trading_accounts (id);
CREATE INDEX risk_events_account ON risk_events (account_id);
