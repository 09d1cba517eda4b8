"""HTML pages of the partners app, one module per audience: banks, platform staff, onboarding."""
