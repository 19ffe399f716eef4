-- A firm's domains in the order it listed them: the first is its primary domain, the one
-- its mail links to (https://<domain>/...).
ALTER TABLE tenant_domains ADD COLUMN position integer NOT NULL DEFAULT 0;
