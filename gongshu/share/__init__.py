"""Sharing between public bodies (共享): grants, share requests, objections, emergencies,
reassessment and the return flow (回流). The gate reads grants through ``share.grants``."""
