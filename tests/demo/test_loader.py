"""Loading the demo city into real, committed databases: determinism, counts, idempotency.

Two fresh scratch databases are loaded once for the package (tests/demo/conftest.py); their
catalog exports must be byte-identical. The CLI test loads a third one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gongshu.audit import service as audit
from gongshu.audit.models import AuditEntry, AuditHead
from gongshu.auth.actor import Actor
from gongshu.auth.models import Role, User, UserRole
from gongshu.auth.permissions import ADMIN_TRIAD
from gongshu.catalog.models import (
    Dataset,
    Level,
    OpenType,
    ResourceFormat,
    ShareType,
    UpdateCycle,
)
from gongshu.cli import app as cli_app
from gongshu.demo.data import AGENCIES, DEMO_ACCOUNTS, DEMO_PASSWORD, ENTRIES, USERS
from gongshu.demo.loader import DemoSummary, load_demo
from gongshu.identifiers import check_credit_code
from gongshu.orgs.models import Agency, Region, RegionLevel
from gongshu.settings import Settings, get_settings
from tests.demo.conftest import Loaded


def test_two_loads_export_byte_identical_catalogs(two_cities: tuple[Loaded, Loaded]) -> None:
    a, b = two_cities
    assert a.summary == b.summary
    assert not a.summary.already_loaded
    csv_a = a.export("csv")
    assert csv_a == b.export("csv")
    assert a.export("xlsx") == b.export("xlsx")
    text = csv_a.decode("utf-8-sig")
    for title in ("市场主体登记信息", "空气质量监测数据", "气象预警信息", "不动产登记信息"):
        assert title in text


def test_summary_counts(two_cities: tuple[Loaded, Loaded], city: Session) -> None:
    summary = two_cities[0].summary
    assert summary == DemoSummary(
        already_loaded=False,
        regions=13,
        agencies=len(AGENCIES),
        users=len(USERS),
        datasets=len(ENTRIES),
    )
    districts = city.scalar(
        select(func.count()).select_from(Region).where(Region.level == RegionLevel.DISTRICT)
    )
    assert districts is not None and districts >= 4
    assert summary.agencies >= 20
    assert summary.datasets >= 80


def test_every_coded_value_is_present(city: Session) -> None:
    def values(column: object) -> set[object]:
        return set(city.scalars(select(column).distinct()))  # type: ignore[call-overload]

    assert values(Dataset.share_type) == set(ShareType)
    assert values(Dataset.open_type) == set(OpenType)
    assert values(Dataset.level) == set(Level)
    assert values(Dataset.update_cycle) == set(UpdateCycle)
    assert values(Dataset.format) == set(ResourceFormat)


def test_agencies_have_valid_codes_and_chief_data_officers(city: Session) -> None:
    agencies = city.scalars(select(Agency).order_by(Agency.id)).all()
    assert [a.name for a in agencies] == [spec.name for spec in AGENCIES]
    for agency in agencies:
        result = check_credit_code(agency.credit_code)
        assert result.ok and not result.warnings, (agency.name, result.warning_messages("zh"))
        officer = agency.chief_data_officer
        assert officer is not None and officer.agency_id == agency.id
        assert Role.AGENCY_OFFICER in officer.roles


def test_every_role_has_a_user_and_the_triad_is_separated(city: Session) -> None:
    rows = city.execute(select(User.username, UserRole.role).join(UserRole.user)).all()
    assert {role for _name, role in rows} == set(Role)
    holders = {role: [name for name, r in rows if r is role] for role in ADMIN_TRIAD}
    assert holders == {
        Role.SYSTEM_ADMIN: ["sysadmin"],
        Role.SECURITY_ADMIN: ["secadmin"],
        Role.AUDIT_ADMIN: ["auditadmin"],
    }
    roles_per_user: dict[str, int] = {}
    for name, _role in rows:
        roles_per_user[name] = roles_per_user.get(name, 0) + 1
    assert set(roles_per_user.values()) == {1}


def test_entries_are_created_by_officers_and_audited(city: Session) -> None:
    assert audit.verify(city).ok
    creates = city.scalars(select(AuditEntry).where(AuditEntry.action == "dataset.create")).all()
    assert len(creates) == len(ENTRIES)
    officers = {u.display_name for u in USERS if u.role is Role.AGENCY_OFFICER}
    assert {e.actor_name for e in creates} <= officers
    assert all(e.actor_id is not None for e in creates)
    demo_actions = city.scalars(
        select(AuditEntry.action).where(AuditEntry.actor_name == "demo").distinct()
    ).all()
    assert {"region.create", "agency.create", "user.create", "agency.update"} <= set(demo_actions)
    related = city.scalars(select(Dataset).where(Dataset.title == "行政许可信息")).one()
    source = city.scalars(select(Dataset).where(Dataset.title == "市场主体登记信息")).one()
    assert related.related_codes == [source.code]


def test_a_second_load_changes_nothing(two_cities: tuple[Loaded, Loaded]) -> None:
    a = two_cities[0]
    with a.session() as session:
        head_before = session.get(AuditHead, 1)
        assert head_before is not None
        seq_before = head_before.seq
    csv_before = a.export("csv")
    with a.session() as session:
        summary = load_demo(session)
    assert summary.already_loaded
    assert summary.datasets == len(ENTRIES) and summary.users == len(USERS)
    with a.session() as session:
        head_after = session.get(AuditHead, 1)
        assert head_after is not None and head_after.seq == seq_before
    assert a.export("csv") == csv_before


@pytest.fixture
def cli_database(
    scratch_settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Settings]:
    """Point the CLI's settings at a fresh scratch database for the duration of a test."""
    monkeypatch.setenv("GONGSHU_DATABASE_URL", scratch_settings.sqlalchemy_url)
    monkeypatch.setenv("GONGSHU_DATA_DIR", str(tmp_path / "cli-data"))
    get_settings.cache_clear()
    try:
        yield scratch_settings
    finally:
        get_settings.cache_clear()


def test_cli_load_prints_the_accounts(cli_database: Settings) -> None:
    runner = CliRunner()
    first = runner.invoke(cli_app, ["demo", "load"])
    assert first.exit_code == 0, first.output
    assert f"{len(ENTRIES)} 个目录条目" in first.output
    for account in DEMO_ACCOUNTS:
        assert account.username in first.output
    assert DEMO_PASSWORD in first.output
    assert "http://127.0.0.1:8000" in first.output

    again = runner.invoke(cli_app, ["demo", "load"])
    assert again.exit_code == 0, again.output
    assert "演示城市已载入" in again.output
    assert "scj_officer" in again.output and DEMO_PASSWORD in again.output

    listing = runner.invoke(cli_app, ["demo", "accounts"])
    assert listing.exit_code == 0, listing.output
    assert "sysadmin" in listing.output and "数据专管员" in listing.output


def test_cli_speaks_english(cli_database: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GONGSHU_DEFAULT_LANGUAGE", "en")
    get_settings.cache_clear()
    result = CliRunner().invoke(cli_app, ["demo", "accounts"])
    assert result.exit_code == 0, result.output
    assert "Username" in result.output
    assert f"Password of every demo account: {DEMO_PASSWORD}" in result.output


def test_the_registry_holds_the_source_systems(city: Session) -> None:
    """Every entry's source system is registered and linked; one running system of the
    bureau produces no entry yet and is flagged as 未编目."""
    from sqlalchemy import func, select

    from gongshu.catalog.models import Dataset
    from gongshu.systems.models import InformationSystem, SystemDataset
    from gongshu.systems.queries import count_uncataloged

    with_system = city.scalar(
        select(func.count()).select_from(Dataset).where(Dataset.source_system != "")
    )
    assert city.scalar(select(func.count()).select_from(SystemDataset)) == with_system
    assert (city.scalar(select(func.count()).select_from(InformationSystem)) or 0) > 20
    assert count_uncataloged(city, Actor.system("pytest")) == 1
