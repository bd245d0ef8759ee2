"""The gate: every read of dataset rows passes through here.

``policy`` decides who may read what (today: the provider agency's users and bureau admins;
later: grants with fields, a row filter and an expiry, and masking by level and reader);
``service`` applies the decision, reads through ``gongshu.store.rows`` — which nothing else
may import — and records one ``data.read`` audit entry per call before any row leaves.
"""
