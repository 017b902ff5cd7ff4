"""Development doubles: embedded PostgreSQL and Redis, the provider sandboxes, the process
manager of `make run`. Production never imports this package (the image leaves it out)."""
