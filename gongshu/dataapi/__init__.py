"""The data API (数据接口) for shared data: rows, counts, grouped aggregates and streamed
exports of a catalog entry (and a CSV bundle with its Data Package descriptor and seal),
every read through the gate; per-key rate limits; tracing a leaked file — by its
fingerprint or by the digest recorded for every export — back to its grant, body and
export. See docs/data-api.md."""
