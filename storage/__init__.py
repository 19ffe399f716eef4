"""Storage (to come): PostgreSQL with migrations, Redis, and the ClickHouse/chDB store."""
