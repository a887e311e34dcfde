"""Dashboard accounts: password hashing and checking, roles, sign-in throttling."""
