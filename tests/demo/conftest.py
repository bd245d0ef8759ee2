"""Two fresh scratch databases loaded with the demo city, once for the whole package.

Loading takes tens of seconds (the catalog, then every entry's rows through the ingestion
pipeline), so tests/demo/test_loader.py and tests/demo/test_rows.py share them.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import cast

import pytest
from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.catalog.queries import export_catalog
from gongshu.db import make_engine, make_session_factory
from gongshu.demo.loader import load_demo
from gongshu.settings import Settings, get_settings
from tests.conftest import scratch_database

EXPORTER = Actor.system("pytest")
ScratchGen = Generator[Settings, None, None]


class Loaded:
    """A scratch database holding the demo city, and what loading it returned."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = make_engine(settings)
        self.factory = make_session_factory(self.engine)
        # Upserts read the current version through the gate, which opens the process's
        # storage: point the process at this city's data directory while it loads.
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("GONGSHU_DATA_DIR", str(settings.data_dir))
            get_settings.cache_clear()
            try:
                with self.factory() as session:
                    self.summary = load_demo(session, settings=settings)
            finally:
                get_settings.cache_clear()

    def session(self) -> Session:
        return self.factory()

    def export(self, fmt: str) -> bytes:
        with self.session() as session:
            return export_catalog(session, EXPORTER, fmt)  # type: ignore[arg-type]


@pytest.fixture(scope="package")
def two_cities(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Loaded, Loaded]]:
    # scratch_database is a generator: closing it drops the database.
    gen_a = cast(ScratchGen, scratch_database(settings, tmp_path_factory.mktemp("demo_a")))
    gen_b = cast(ScratchGen, scratch_database(settings, tmp_path_factory.mktemp("demo_b")))
    loaded: list[Loaded] = []
    try:
        loaded.append(Loaded(next(gen_a)))
        loaded.append(Loaded(next(gen_b)))
        yield loaded[0], loaded[1]
    finally:
        for item in loaded:
            item.engine.dispose()
        gen_a.close()
        gen_b.close()


@pytest.fixture
def city(two_cities: tuple[Loaded, Loaded]) -> Iterator[Session]:
    with two_cities[0].session() as session:
        yield session
