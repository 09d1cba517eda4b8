"""Partners: banks, their members, scopes, capabilities, usage terms, API keys and webhooks."""
