"""Test-suite machinery of the compliance app: the audit-coverage check every test runs under."""
