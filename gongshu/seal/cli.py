"""``gongshu seal``: sign a file, verify a file or a sealed answer, show or rotate the key.

``verify`` exits with 0 when the seal is valid and 1 when it is not (or cannot be checked),
printing which check failed in both interface languages, so scripts can rely on the code.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from gongshu.auth.actor import Actor
from gongshu.cli_support import bi, cli_session, say
from gongshu.i18n import N_, translate
from gongshu.seal import service
from gongshu.seal.core import platform_seal
from gongshu.seal.statements import (
    Check,
    Verdict,
    load_json,
    sign_file,
    signature_path,
    verify_answer,
    verify_file,
)
from gongshu.settings import get_settings

app = typer.Typer(help=bi("电子印章：签章与核验"), no_args_is_help=True)

CLI_ACTOR = Actor.system("cli")
MSG_WROTE = N_("签名已写入 {path}")
MSG_NO_FILE = N_("文件不存在：{path}")
MSG_NO_SIG = N_("找不到签名文件 {path}，也不是带签章的 JSON 答复")
MSG_KEY = N_("当前密钥：{key_id}（{suite}）")
MSG_RETIRED = N_("已停用的旧密钥：{key_id}（{suite}，停用于 {at}）")
MSG_ROTATED = N_("已更换签章密钥：{old} → {new}；旧公钥保留在 retired/ 中，旧签名仍可核验")
MSG_SIGNED = N_("所签内容：{what}")


def _both(message: str, **params: object) -> str:
    zh, en = translate(message, "zh", **params), translate(message, "en", **params)
    return zh if zh == en else f"{zh} / {en}"


def _fail(message: str, **params: object) -> typer.Exit:
    typer.secho(_both(message, **params), err=True, fg="red")
    return typer.Exit(1)


@app.command("sign", help=bi("为文件签章，生成“文件名.sig.json”"))
def sign(
    file: Path = typer.Argument(..., help=bi("要签章的文件")),
    out: Path | None = typer.Option(
        None, "--out", help=bi("签名文件路径（默认：文件名.sig.json）")
    ),
    dataset: str | None = typer.Option(None, help=bi("所属目录条目（编号或代码）")),
    version: int | None = typer.Option(None, min=1, help=bi("数据版本号")),
    fingerprint: str | None = typer.Option(None, help=bi("授权指纹")),
) -> None:
    if not file.is_file():
        raise _fail(MSG_NO_FILE, path=file)
    ref = None
    if dataset:
        ref = {"id": int(dataset)} if dataset.isdigit() else {"code": dataset}
    doc = sign_file(
        platform_seal(get_settings()),
        file,
        dataset=ref,
        version=version,
        fingerprint=fingerprint,
    )
    target = out or signature_path(file)
    target.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    typer.echo(say(MSG_WROTE, path=target))


def _report(verdict: Verdict) -> None:
    colour = "green" if verdict.valid else "red"
    typer.secho(verdict.bilingual(), fg=colour, err=not verdict.valid)
    if verdict.key_id:
        typer.echo(
            f"  key_id: {verdict.key_id}  suite: {verdict.suite}  signed_at: {verdict.signed_at}"
        )
    if verdict.signed is not None:
        what = json.dumps(dict(verdict.signed), ensure_ascii=False, sort_keys=True)
        typer.echo("  " + say(MSG_SIGNED, what=what))


@app.command("verify", help=bi("核验文件的签名或带签章的 JSON 答复（有效退出码 0，无效 1）"))
def verify(
    file: Path = typer.Argument(..., help=bi("要核验的文件或带签章的 JSON 答复")),
    signature: Path | None = typer.Option(
        None, "--signature", help=bi("签名文件（默认：文件名.sig.json）")
    ),
) -> None:
    if not file.is_file():
        raise _fail(MSG_NO_FILE, path=file)
    seal = platform_seal(get_settings())
    sig_path = signature or signature_path(file)
    if sig_path.is_file():
        doc = load_json(sig_path.read_bytes())
        verdict = verify_file(seal, file, doc) if doc is not None else Verdict(Check.MALFORMED)
    elif signature is not None:
        raise _fail(MSG_NO_FILE, path=signature)
    else:
        envelope = load_json(file.read_bytes()) if file.stat().st_size < 256 * 1024**2 else None
        if not service.is_envelope(envelope):
            raise _fail(MSG_NO_SIG, path=sig_path)
        verdict = verify_answer(seal, envelope)
    _report(verdict)
    if not verdict.valid:
        raise typer.Exit(1)


@app.command("key", help=bi("显示平台签章公钥；--rotate 更换密钥（旧公钥保留）"))
def key(
    rotate: bool = typer.Option(False, "--rotate", help=bi("更换签章密钥")),
) -> None:
    settings = get_settings()
    if rotate:
        with cli_session() as session:
            old, new = service.rotate(session, CLI_ACTOR, settings)
        typer.echo(say(MSG_ROTATED, old=old.key_id, new=new.key_id))
    seal = platform_seal(settings)
    typer.echo(say(MSG_KEY, key_id=seal.key_id, suite=seal.suite.name))
    typer.echo(seal.public_key_pem.decode("ascii").rstrip())
    for k in seal.public_keys()[1:]:
        typer.echo(say(MSG_RETIRED, key_id=k.key_id, suite=k.suite, at=k.retired_at))
