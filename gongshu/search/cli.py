"""``gongshu search``: rebuild the index and maintain pinyin overrides.

Commands run as the platform itself (``Actor.system("cli")``); override changes are audited
like the page's and the API's.
"""

from __future__ import annotations

import typer

from gongshu.auth.actor import Actor
from gongshu.cli_support import bi, cli_session, say
from gongshu.search import service
from gongshu.search.schemas import PinyinOverrideIn
from gongshu.validation import parse

app = typer.Typer(help=bi("目录检索"), no_args_is_help=True)
overrides_app = typer.Typer(help=bi("拼音校正（多音字地名等）"), no_args_is_help=True)
app.add_typer(overrides_app, name="overrides")

CLI_ACTOR = Actor.system("cli")


@app.command("reindex", help=bi("重建目录检索索引"))
def reindex() -> None:
    with cli_session() as session:
        n = service.reindex(session)
    typer.echo(say("已重建检索索引：{n} 个目录条目", n=n))


@app.command("status", help=bi("显示检索索引状态"))
def status() -> None:
    with cli_session() as session:
        entries, indexed = service.index_status(session)
    typer.echo(say("目录条目 {entries} 个，已索引 {indexed} 个", entries=entries, indexed=indexed))
    if entries != indexed:
        typer.echo(say("索引不完整，请运行 gongshu search reindex"), err=True)


@overrides_app.command("list", help=bi("列出拼音校正"))
def list_overrides() -> None:
    with cli_session() as session:
        for o in service.list_overrides(session, CLI_ACTOR):
            typer.echo(f"{o.phrase}\t{o.pinyin}\t{o.note}")


def _report(reindexed: int, job_id: int | None) -> None:
    if job_id is not None:
        typer.echo(say("受影响的条目较多，已排入后台任务 {job}", job=job_id))
    else:
        typer.echo(say("已重新索引 {n} 个目录条目", n=reindexed))


@overrides_app.command("set", help=bi('新增或修改拼音校正，如：费县 "bi xian"'))
def set_override(
    phrase: str = typer.Argument(..., help=bi("词语")),
    pinyin: str = typer.Argument(..., help=bi("拼音，每字一个音节，空格分隔")),
    note: str = typer.Option("", "--note", help=bi("备注")),
) -> None:
    with cli_session() as session:
        data = parse(PinyinOverrideIn, {"phrase": phrase, "pinyin": pinyin, "note": note})
        override, reindexed, job_id = service.set_override(session, CLI_ACTOR, data)
        typer.echo(
            say(
                "已保存拼音校正：{phrase} → {pinyin}",
                phrase=override.phrase,
                pinyin=override.pinyin,
            )
        )
        _report(reindexed, job_id)


@overrides_app.command("delete", help=bi("删除拼音校正"))
def delete_override(phrase: str = typer.Argument(..., help=bi("词语"))) -> None:
    with cli_session() as session:
        reindexed, job_id = service.delete_override(session, CLI_ACTOR, phrase)
        typer.echo(say("已删除拼音校正：{phrase}", phrase=phrase))
        _report(reindexed, job_id)
