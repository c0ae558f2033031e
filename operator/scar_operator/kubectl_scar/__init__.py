"""`kubectl scar`: SCAR's data commands (put, ls, get, logs, invoke) and `convert`, by function name."""
