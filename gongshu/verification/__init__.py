"""Verification (核验): services the bureau offers over catalog entries, and checks that
answer "does it match?" and "is it valid?" without returning the record. The gate answers
(``gongshu.gate.verify``); this package configures, rate-limits and exposes it."""
