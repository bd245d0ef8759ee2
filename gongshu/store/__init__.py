"""The versioned dataset store: immutable versions of each catalog entry's rows.

- ``storage``: where version files live (one interface; the local disk today);
- ``models``: ``DatasetVersion`` and ``DatasetHead`` in the SQL database;
- ``versions``: ``VersionWriter``, ``publish``, ``prune``, ``sweep`` and version queries;
- ``serving``: the per-version SQLite serving index and how values are stored in it;
- ``rows``: reading rows — imported only by ``gongshu.gate``, which every read passes.

docs/storage.md describes the layout, the atomicity argument and retention.
"""
