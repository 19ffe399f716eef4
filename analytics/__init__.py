"""Analytics (to come): the ClickHouse sink and every analytical query and report."""
