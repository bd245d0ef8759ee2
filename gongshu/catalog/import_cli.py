"""``gongshu catalog lists|template|import``: the two lists and bulk compiling, from a shell.

Registered on ``gongshu.catalog.cli.app`` (imported at the bottom of that module). The lists
are read as the platform (every entry, in the chosen scope); an import acts as the officer
named with ``--as``, so the same rules, permissions and audit entries apply as on the page.
"""

from __future__ import annotations

import enum
import sys
from pathlib import Path

import typer
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gongshu.catalog import duty_lists, importer
from gongshu.catalog.cli import BAD_FILE, CLI_ACTOR, Format, _officer, app
from gongshu.catalog.duty_lists import ListFilter, ListKind
from gongshu.catalog.queries import ExportFormat
from gongshu.cli_support import bi, cli_session, say
from gongshu.errors import NotFound, ValidationFailed
from gongshu.i18n import N_
from gongshu.orgs.models import Agency, Region

AGENCY_NOT_FOUND = N_("机构不存在")
REGION_NOT_FOUND = N_("行政区划不存在")


class Kind(enum.StrEnum):
    RESPONSIBILITY = "responsibility"
    NEGATIVE = "negative"


class Scope(enum.StrEnum):
    PUBLISHED = "published"
    VISIBLE = "visible"


def _agency_id(session: Session, value: str) -> int:
    """An agency named by id, unified social credit code, name or short name."""
    conditions = [
        Agency.credit_code == value.upper(),
        Agency.name == value,
        Agency.short_name == value,
    ]
    if value.isdigit() and len(value) < 12:
        conditions.append(Agency.id == int(value))
    found = session.scalars(select(Agency.id).where(or_(*conditions)).order_by(Agency.id)).first()
    if found is None:
        raise NotFound(AGENCY_NOT_FOUND)
    return int(found)


def _region_id(session: Session, code: str) -> int:
    found = session.scalar(select(Region.id).where(Region.code == code))
    if found is None:
        raise NotFound(REGION_NOT_FOUND)
    return int(found)


def _write(data: bytes, output: Path | None) -> None:
    if output is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    output.write_bytes(data)
    typer.echo(say("已导出到 {path}", path=str(output)), err=True)


@app.command("lists", help=bi("导出责任清单或负面清单（CSV 或 Excel）"))
def lists(
    kind: Kind = typer.Argument(
        ..., help=bi("清单：responsibility（责任清单）或 negative（负面清单）")
    ),
    fmt: Format = typer.Option(Format.CSV, "--format", "-f", help=bi("导出格式：csv 或 xlsx")),
    output: Path | None = typer.Option(
        None, "--output", "-o", help=bi("输出文件（默认输出到标准输出）")
    ),
    agency: str | None = typer.Option(
        None, "--agency", help=bi("只含该机构的条目（机构编号、统一社会信用代码或名称）")
    ),
    region: str | None = typer.Option(None, "--region", help=bi("只含该区划的条目（区划代码）")),
    scope: Scope = typer.Option(
        Scope.PUBLISHED, "--scope", help=bi("published：仅已发布条目；visible：全部条目")
    ),
) -> None:
    export_format: ExportFormat = "xlsx" if fmt is Format.XLSX else "csv"
    list_kind: ListKind = "negative" if kind is Kind.NEGATIVE else "responsibility"
    with cli_session() as session:
        filters = ListFilter(
            agency_id=_agency_id(session, agency) if agency else None,
            region_id=_region_id(session, region) if region else None,
            scope="visible" if scope is Scope.VISIBLE else "published",
        )
        data = duty_lists.export_list(session, CLI_ACTOR, list_kind, export_format, filters)
    _write(data, output)


@app.command("template", help=bi("生成目录批量导入模板（Excel）"))
def template(
    output: Path | None = typer.Option(
        None, "--output", "-o", help=bi("输出文件（默认输出到标准输出）")
    ),
) -> None:
    _write(importer.build_template(), output)


@app.command("import", help=bi("以数据专管员身份从 Excel 模板批量导入目录条目"))
def import_file(
    file: Path = typer.Argument(..., help=bi("填好的导入模板（.xlsx）")),
    username: str = typer.Option(..., "--as", help=bi("数据专管员的用户名")),
    valid_only: bool = typer.Option(False, "--valid-only", help=bi("只导入无误的行")),
    report: Path | None = typer.Option(
        None, "--report", help=bi("有错误时，把标注了错误的工作簿写到该文件")
    ),
) -> None:
    with cli_session() as session:
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise ValidationFailed.single(
                "file", say(BAD_FILE, error=exc.strerror or str(exc))
            ) from exc
        actor = _officer(session, username)
        result = importer.import_catalog(
            session, actor, data, valid_rows_only=valid_only, filename=file.name
        )
    for e in result.errors:
        typer.echo(f"{e.sheet}\t{e.row}\t{e.column} {e.header}\t{e.message}", err=True)
    if report is not None and result.annotated is not None:
        report.write_bytes(result.annotated)
        typer.echo(say("已将标注错误的工作簿写到 {path}", path=str(report)), err=True)
    typer.echo(
        say(
            "条目 {entries} 行：无误 {valid}，有误 {invalid}；已导入 {created} 个",
            entries=result.entries,
            valid=result.valid,
            invalid=result.invalid,
            created=len(result.created),
        )
    )
    for code in result.created:
        typer.echo(code)
    if not result.saved:
        typer.echo(say("未导入任何条目"), err=True)
        raise typer.Exit(1)
