"""Event schema, the pure risk-engine core, and the Kafka workers, feeds and simulator."""
