"""Public accounts, API keys with quotas, and conditional opening (有条件开放)."""
