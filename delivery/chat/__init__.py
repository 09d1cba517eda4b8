"""Conversations between a person and a bank's chatbot, and fraud alerts that ask: models, cards, services."""
