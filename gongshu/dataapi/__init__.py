"""The data API (数据接口) for shared data: rows, counts, grouped aggregates and streamed
exports of a catalog entry, every read through the gate; per-key rate limits; tracing a
leaked file's fingerprint back to its grant, body and export. See docs/data-api.md."""
