"""One specification of store behaviour, run against every backend."""
