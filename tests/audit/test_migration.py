"""Migration 0015 on a chain written before it: old entries keep verifying, and their
searchable columns are filled from their hashed content."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select, text

from gongshu import migrate
from gongshu.audit import service
from gongshu.audit.chain import iso_at, v1_hash
from gongshu.audit.models import AuditEntry
from gongshu.auth.actor import Actor
from gongshu.db import make_engine, make_session_factory, unit_of_work
from gongshu.settings import Settings

OLD = [
    ("dataset.update", "dataset", "12", {"title": ["旧名", "新名"]}),
    ("data.read", "dataset", "12", {"purpose": "核查", "rows": 50, "result": "allowed"}),
    ("data.denied", "dataset", "13", {"purpose": "核查", "rows": 0}),
    ("verification_service.create", "verification_service", "4", {"dataset_id": 13}),
    ("agency.update", "agency", "3", {"name": ["甲", "乙"]}),
]


def test_old_entries_verify_and_get_their_search_columns(scratch_settings: Settings) -> None:
    migrate.downgrade(scratch_settings, "0014")
    engine = make_engine(scratch_settings)
    prev = "0" * 64
    start = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)
    with engine.begin() as conn:
        for seq, (action, object_type, object_id, changes) in enumerate(OLD, start=1):
            at = start + dt.timedelta(minutes=seq, microseconds=seq)
            entry_hash = v1_hash(
                seq=seq, at_iso=iso_at(at), actor_id=1, actor_name="王专管", agency_id=2,
                action=action, object_type=object_type, object_id=object_id,
                object_label="旧记录", changes=changes, request_id="r", ip="10.0.0.1",
                prev_hash=prev,
            )  # fmt: skip
            conn.execute(
                text(
                    "INSERT INTO audit_entry (seq, at, actor_id, actor_name, agency_id, action, "
                    "object_type, object_id, object_label, changes, request_id, ip, prev_hash, "
                    "entry_hash) VALUES (:seq, :at, 1, '王专管', 2, :action, :ot, :oid, '旧记录', "
                    ":changes, 'r', '10.0.0.1', :prev, :hash)"
                ),
                {
                    "seq": seq,
                    "at": at.replace(tzinfo=None),
                    "action": action,
                    "ot": object_type,
                    "oid": object_id,
                    # As SQLAlchemy's JSON type stored it then: not canonical.
                    "changes": json.dumps(changes),
                    "prev": prev,
                    "hash": entry_hash,
                },
            )
            prev = entry_hash
        conn.execute(
            text("INSERT INTO audit_head (id, seq, entry_hash) VALUES (1, :s, :h)"),
            {"s": len(OLD), "h": prev},
        )
    engine.dispose()

    migrate.upgrade(scratch_settings)
    engine = make_engine(scratch_settings)
    factory = make_session_factory(engine)
    with factory() as session:
        rows = session.execute(
            select(
                AuditEntry.hash_version, AuditEntry.dataset_id, AuditEntry.result, AuditEntry.rows
            ).order_by(AuditEntry.seq)
        ).all()
        assert [tuple(r) for r in rows] == [
            (1, 12, "", None),
            (1, 12, "allowed", 50),
            (1, 13, "denied", 0),
            (1, 13, "", None),
            (1, None, "", None),
        ]
        result = service.verify(session)
        assert result.ok, result.localized_reason()
    with factory() as session, unit_of_work(session):
        entry = service.record(session, Actor.system(), "thing.update", "thing", 1)
        assert entry.hash_version == 2 and entry.seq == len(OLD) + 1
    with factory() as session:
        assert service.verify(session).ok
    engine.dispose()
