"""Pieces every app's API shares: the error handler and pagination."""
