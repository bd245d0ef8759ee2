"""Aggregation (汇聚): reading uploaded files, validating rows against the catalog's fields,
and turning a batch of rows into a new immutable dataset version."""
