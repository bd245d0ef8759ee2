"""A writer process for the crash test: writes many batches, finishes and publishes.

Started by tests/forkserver.py with the scratch database and data directory in the
environment; sets ``ready`` before it writes so the parent can time its kill, and
``published`` once the version is live.
"""

from __future__ import annotations

from multiprocessing.synchronize import Event

import gongshu.models  # noqa: F401 — every table, for the foreign keys
from gongshu.auth.actor import Actor
from gongshu.catalog.models import Dataset
from gongshu.db import make_engine, make_session_factory
from gongshu.settings import get_settings
from gongshu.store.storage import get_storage
from gongshu.store.versions import VersionWriter, publish
from tests.store.conftest import SPECS, make_row, to_batch

# 80,000 rows: more than a serving index loaded in process, so the kills also land while a
# loader process of the writer's is at work.
BATCHES = 40
ROWS = 2000


def main(dataset_id: int, ready: Event, published: Event) -> None:
    settings = get_settings()
    storage = get_storage(settings)
    engine = make_engine(settings)
    template = [make_row(i) for i in range(ROWS)]
    batch = to_batch(template)
    ready.set()
    with make_session_factory(engine)() as session:
        dataset = session.get(Dataset, dataset_id)
        assert dataset is not None
        with VersionWriter(storage, dataset_id, SPECS) as writer:
            for _ in range(BATCHES):
                writer.write(batch)
            staged = writer.finish()
        publish(
            session,
            Actor.system("crash-test"),
            dataset,
            staged,
            mode="replace",
            source={"kind": "upload"},
            storage=storage,
            keep=100,
        )
    published.set()
