"""The leak test: sensitive values seeded in the provider's people entry (general_3, every
field a sensitivity: ID number, name, mobile, address, bank card, e-mail) must reach nobody
who is not entitled to them — not in a response body, a header, an exported file (XLSX
unzipped, Parquet read back, the CSV bundle opened), a log line, or the audit chain — while
those who are entitled (the provider's officer and consumer, the city bureau) do see them
through the same endpoints, so the test can fail.

Every call that can return rows or something derived from them is made as every role. The
grantee reads under a grant that masks every field: it must see the masked forms
(``371302********073X``, ``甄**``) and never the clear ones. A call that carries a secret in
its request (a lookup by ID number, a claimed name) is not blamed for echoing what its caller
sent: ``given`` names those, and the scan looks for the rest.
"""

from __future__ import annotations

import html
import io
import json
import logging
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from gongshu.audit.models import AuditEntry
from tests.security.cases import CLEAR_READERS, ids_of
from tests.security.conftest import call
from tests.security.world import ROLES, SECOND, SECRET, SECRET_FRAGMENTS, World

# The clear values, and the parts of them a mask must hide.
SECRETS: tuple[str, ...] = (*SECRET.values(), *SECOND.values(), *SECRET_FRAGMENTS)
NOT_ENTITLED = tuple(r for r in ROLES if r not in CLEAR_READERS)
PURPOSE = "_purpose=安全核查"

# What the grantee's masks make of the first secret row (domain README §3).
MASKED_ID = SECRET["person_id"][:6] + "*" * 8 + SECRET["person_id"][-4:]
MASKED_NAME = SECRET["name"][0] + "*" * (len(SECRET["name"]) - 1)

pytestmark = pytest.mark.role_matrix


@dataclass(frozen=True)
class Leak:
    """One call that may return rows or something made from them.

    ``shows``: the entitled roles must find the clear values in the answer (the first secret
    row's name and ID number). ``masked``: the grantee must find the masked forms. ``given``:
    secrets the request itself carries (the caller knows them; echoing them is no leak).
    """

    name: str
    url: str
    method: str = "GET"
    page: bool = False
    body: Callable[[Mapping[str, Any]], Any] | None = None
    files: Callable[[Mapping[str, Any]], Any] | None = None
    shows: bool = False
    masked: bool = False
    given: tuple[str, ...] = field(default_factory=tuple)


KEY = SECRET["person_id"]
DATA = "/api/v1/data/{people}"
LEAKS: list[Leak] = [
    # the data API, every answer and every export format
    Leak("data rows", DATA + "/rows?" + PURPOSE, shows=True, masked=True),
    Leak(
        "data rows by key",
        DATA + "/rows?" + PURPOSE + "&person_id__eq={person_id}",
        shows=True,
        given=(KEY,),
    ),
    Leak("data count", DATA + "/count?" + PURPOSE),
    Leak("data aggregate", DATA + "/aggregate?" + PURPOSE + "&_group=district&_measure=count"),
    Leak(
        "data aggregate by name",
        DATA + "/aggregate?" + PURPOSE + "&_group=name&_measure=count",
        shows=True,
    ),
    Leak("data describe", DATA),
    *[
        Leak(f"export {fmt}", DATA + f"/export.{fmt}?" + PURPOSE, shows=True, masked=True)
        for fmt in ("csv", "xlsx", "json", "parquet", "csv.zip")
    ],
    Leak("data api page", "/data-api", page=True),
    # aggregation: rows, diffs, traces, ingestions, entity search
    Leak("ingest rows", "/api/v1/datasets/{people}/rows", shows=True, masked=True),
    Leak(
        "ingest rows by key",
        "/api/v1/datasets/{people}/rows?filter=person_id:=:{person_id}",
        shows=True,
        given=(KEY,),
    ),
    Leak("version diff", "/api/v1/datasets/{people}/diff?from=1&to=2", shows=True, masked=True),
    Leak("trace", "/api/v1/datasets/{people}/trace?key={person_id}", shows=True, given=(KEY,)),
    Leak("versions", "/api/v1/datasets/{people}/versions"),
    Leak("ingestion", "/api/v1/ingestions/{ingestion}"),
    Leak("rejected rows", "/api/v1/ingestions/{ingestion}/rejected"),
    Leak(
        "entity search",
        "/api/v1/identifiers/citizen_id/{person_id}",
        shows=True,
        given=(KEY,),
    ),
    # entity profiles and verification
    Leak(
        "profile api",
        "/api/v1/profiles/citizen_id/{person_id}?purpose=身份核查",
        shows=True,
        given=(KEY,),
    ),
    Leak(
        "profile page",
        "/profiles",
        method="POST",
        page=True,
        body=lambda i: {"kind": "citizen_id", "value": KEY, "purpose": "身份核查"},
        shows=True,
        given=(KEY,),
    ),
    Leak(
        "verification check",
        "/api/v1/verification/services/{vcode}/check",
        method="POST",
        body=lambda i: {"key": KEY, "claims": {"name": "错误的名字"}, "purpose": "身份核验"},
        given=(KEY,),
    ),
    Leak(
        "verification batch",
        "/api/v1/verification/services/{vcode}/batch",
        method="POST",
        body=lambda i: {"purpose": "身份核验", "checks": [{"key": KEY, "claims": {"mobile": "1"}}]},
        given=(KEY,),
    ),
    Leak(
        "verification by entry",
        "/api/v1/verification/datasets/{people}/check",
        method="POST",
        body=lambda i: {"key": KEY, "claims": {"name": "错误的名字"}, "purpose": "身份核验"},
        given=(KEY,),
    ),
    Leak(
        "verification page",
        "/verification/{vcode}/check",
        method="POST",
        page=True,
        body=lambda i: {"key": KEY, "claim_name": "错误的名字", "purpose": "身份核验"},
        given=(KEY,),
    ),
    Leak("verification service page", "/verification/{vcode}", page=True),
    # catalog, search and data pages
    Leak("catalog search", "/catalog?q=常住人口", page=True),
    Leak("catalog search api", "/api/v1/datasets?q=常住人口"),
    Leak("catalog entry", "/catalog/{people}", page=True),
    Leak("catalog entry api", "/api/v1/datasets/{people}"),
    Leak("entry history", "/api/v1/datasets/{people}/history"),
    Leak("entry history page", "/catalog/{people}?tab=history", page=True),
    Leak("data page", "/catalog/{people}/data", page=True, shows=True),
    Leak("version page", "/catalog/{people}/versions/2", page=True),
    Leak("versions page", "/catalog/{people}/versions", page=True),
    Leak("diff page", "/catalog/{people}/versions/diff?from=1&to=2", page=True, shows=True),
    Leak(
        "trace page",
        "/catalog/{people}/trace?key={person_id}",
        page=True,
        shows=True,
        given=(KEY,),
    ),
    Leak("ingestion page", "/catalog/{people}/ingestions/{ingestion}", page=True),
    Leak("rejected csv", "/catalog/{people}/ingestions/{ingestion}/rejected.csv", page=True),
    Leak("quality page", "/catalog/{people}/quality", page=True),
    Leak("quality api", "/api/v1/quality/datasets/{people}"),
    # the open-data interfaces
    Leak("ckan package_search", "/api/3/action/package_search?q=人口"),
    Leak("ckan package_show", "/api/3/action/package_show?id={people}"),
    Leak("ckan datastore", "/api/3/action/datastore_search?resource_id={people}-csv"),
    Leak("dcat catalog", "/catalog.ttl", page=True),
    Leak("datapackage", "/dataset/{people}/datapackage.json", page=True),
    # sharing, governance, audit, tracing, notices
    Leak("share request page", "/share/requests/{request_active}", page=True),
    Leak("share grants page", "/share/grants?scope=all", page=True),
    Leak("share grants api", "/api/v1/share/grants"),
    Leak("share requests api", "/api/v1/share/requests"),
    Leak("emergency report", "/api/v1/share/emergencies/{emergency}"),
    Leak("corrections page", "/governance/corrections?status=all", page=True),
    Leak("correction page", "/governance/corrections/{correction}", page=True),
    Leak("correction api", "/api/v1/governance/corrections/{correction}"),
    Leak("corrections api", "/api/v1/governance/corrections?status=all"),
    Leak(
        "correction form",
        "/catalog/{people}/corrections/new?key={person_id}&field=name",
        page=True,
        shows=True,
        given=(KEY,),
    ),
    Leak("governance issues", "/governance/issues", page=True),
    Leak("audit entries api", "/api/v1/audit/entries?per_page=500"),
    Leak("audit entries csv", "/api/v1/audit/entries.csv"),
    Leak("audit entries page", "/audit/entries", page=True),
    Leak("audit entries csv page", "/audit/entries.csv", page=True),
    Leak("audit entry", "/api/v1/audit/entries/{correction_seq}"),
    Leak("audit entry page", "/audit/entries/{correction_seq}", page=True),
    Leak("sharing statistics", "/audit/stats", page=True),
    Leak("fingerprint api", "/api/v1/data/fingerprints/{fingerprint}"),
    Leak(
        "fingerprint file",
        "/api/v1/data/fingerprints/trace",
        method="POST",
        files=lambda i: {"file": ("leak.csv", i["export"], "text/csv")},
    ),
    Leak("fingerprint page", "/data-api/fingerprints?fp={fingerprint}", page=True),
    Leak("notices", "/notices", page=True),
    Leak("mail outbox", "/admin/outbox", page=True),
    Leak("share inbox", "/share/inbox", page=True),
    Leak("sharing statistics api", "/api/v1/audit/stats"),
    Leak("notices api", "/api/v1/notices"),
]


# --- reading everything a response holds ------------------------------------------------


def _unpack(name: str, data: bytes) -> list[str]:
    """The text inside a file: XLSX and ZIP members, Parquet tables read back, JSON with its
    escapes undone, HTML entities and URL escapes decoded."""
    if data[:4] == b"PK\x03\x04":
        out = []
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.namelist():
                out.extend(_unpack(member, archive.read(member)))
        return out
    if data[:4] == b"PAR1":
        table = pq.read_table(io.BytesIO(data))
        return [repr(table.to_pylist()), repr(table.schema.metadata)]
    text = data.decode("utf-8", errors="replace")
    out = [text, html.unescape(text), unquote(text)]
    try:
        parsed = json.loads(text)
    except ValueError:
        lines = []
        for line in text.splitlines():  # NDJSON
            try:
                lines.append(json.loads(line))
            except ValueError:
                break
        else:
            out.append(json.dumps(lines, ensure_ascii=False))
    else:
        out.append(json.dumps(parsed, ensure_ascii=False))
    return out


def everything(response: Any) -> str:
    parts = [f"{k}: {unquote(v)}" for k, v in response.headers.items()]
    parts.extend(_unpack("body", response.content))
    return "\n".join(parts)


def found(text: str, needles: Iterable[str]) -> list[str]:
    return [n for n in needles if n in text]


def audit_text(session: Session, after: int) -> str:
    rows = session.scalars(select(AuditEntry).where(AuditEntry.seq > after)).all()
    return "\n".join(
        json.dumps(
            {c.name: getattr(e, c.key) for c in AuditEntry.__table__.columns},
            ensure_ascii=False,
            default=str,
        )
        for e in rows
    )


@pytest.fixture(scope="module")
def ids(world: World, module_connection: Connection) -> dict[str, Any]:
    with Session(bind=module_connection, join_transaction_mode="create_savepoint") as s:
        seq = s.scalar(
            select(AuditEntry.seq)
            .where(AuditEntry.action == "governance.correction_create")
            .order_by(AuditEntry.seq)
        )
    return {**ids_of(world), "correction_seq": seq or 1}


def test_the_audit_chain_holds_no_clear_value(world: World, module_connection: Connection) -> None:
    """Every entry the seeding wrote (uploads, grants, gate reads and lookups by ID number, a
    correction naming a record by its ID number, verification calls): no clear value in any
    column, ``changes`` included."""
    with Session(bind=module_connection, join_transaction_mode="create_savepoint") as s:
        text = audit_text(s, 0)
        assert (s.scalar(select(func.count()).select_from(AuditEntry)) or 0) > 50
    assert not found(text, SECRETS), "clear values in the audit chain"


@pytest.mark.parametrize("role", [r for r in ROLES if r not in ("anonymous", "public", "operator")])
def test_an_entrys_history_shows_nobody_elses_reads(
    role: str, world: World, ids: dict[str, Any], secure_client: TestClient, rollback: None
) -> None:
    """The grantee's and the bureau's reads of the people entry are their own traffic (the
    audit search shows each body its own): the entry's history, which everyone who sees the
    entry may open, shows the entry's changes only."""
    api = call(
        secure_client,
        world,
        role,
        "GET",
        "/api/v1/datasets/{people}/history".format(**ids),
        page=False,
    )
    assert api.status_code == 200, api.text
    actions = {e["action"] for e in api.json()}
    assert "dataset.publish" in actions and not {a for a in actions if a.startswith("data.")}
    page = call(
        secure_client, world, role, "GET", "/catalog/{people}?tab=history".format(**ids), page=True
    )
    assert page.status_code == 200 and "history-entry" in page.text
    assert "医保待遇资格核验" not in page.text  # the grantee's purpose of reading


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("leak", LEAKS, ids=lambda leak: leak.name)
def test_no_leak(
    leak: Leak,
    role: str,
    world: World,
    ids: dict[str, Any],
    secure_client: TestClient,
    module_connection: Connection,
    rollback: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with Session(bind=module_connection, join_transaction_mode="create_savepoint") as s:
        before = s.scalar(select(func.max(AuditEntry.seq))) or 0
    response = call(
        secure_client,
        world,
        role,
        leak.method,
        leak.url.format(**ids),
        page=leak.page,
        json=None if leak.page or leak.body is None else leak.body(ids),
        form=leak.body(ids) if leak.page and leak.body is not None else None,
        files=leak.files(ids) if leak.files is not None else None,
    )
    text = everything(response)
    with Session(bind=module_connection, join_transaction_mode="create_savepoint") as s:
        chain = audit_text(s, before)
    logs = caplog.text + "\n".join(
        f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records
    )
    hunted = [n for n in SECRETS if not any(n in g or g in n for g in leak.given)]

    # Nobody's log line and no audit entry carries a clear value, whoever asked.
    assert not found(logs, hunted), f"clear values in the log: {found(logs, hunted)}"
    assert not found(chain, hunted), f"clear values in the audit chain: {found(chain, hunted)}"
    if role in CLEAR_READERS:
        if leak.shows:
            assert response.status_code == 200, response.text[:500]
            assert SECRET["name"] in text, f"the entitled {role} does not see the clear name"
        return
    assert not found(text, hunted), (
        f"{leak.name} as {role} ({response.status_code}) shows {found(text, hunted)}"
    )
    if role == "grantee" and leak.masked:
        assert response.status_code == 200, response.text[:500]
        assert MASKED_ID in text and MASKED_NAME in text, "the grantee sees no masked values"
