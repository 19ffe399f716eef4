-- Which e-mail notices a user turned off. A row is an opt-out; no row is the default
-- (every notice is sent). Only the optional notices may be turned off: the receipt of a
-- purchase and the account notices that change what a trader may do (a failure, an
-- emergency stop, a failure overridden) are always sent, so the CHECK refuses them here
-- too, whatever the code above it does.
CREATE TABLE notification_optouts (
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('account_opened', 'passed', 'phase_opened')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, kind)
);
