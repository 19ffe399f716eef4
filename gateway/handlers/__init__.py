"""REST handlers, one module per area; each handler parses, calls a service, answers."""
