"""Console access: argon2 password hashes, sessions and CSRF tokens, login throttling, accounts."""
