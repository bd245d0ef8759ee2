"""The open-data agreement (开放协议) of an application, generated from a template.

The text comes from ``templates/opening/agreement.txt.j2``: both parties, the entry, the
fields, the term, the scenario and purpose, the security measures, usage reporting and
liability. It is a legal text in Chinese whatever language the reader chose (its SHA-256
is what the applicant accepts, so it must not change with the interface language). The
same application always gives the same text, so the digest shown on the page can be
checked again when the applicant accepts it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from gongshu.opening.models import AccountKind, OpenApplication, PublicAccount
from gongshu.settings import get_settings

TEMPLATE = "opening/agreement.txt.j2"
_env = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent.parent / "web" / "templates"),
    autoescape=False,  # noqa: S701 — plain text, never served as HTML (pages escape it)
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def _field_list(application: OpenApplication) -> list[tuple[str, str]]:
    """(label, name) of each field applied for, in the application's order."""
    labels = {f.name: f.label for f in application.dataset.fields}
    return [(labels.get(str(n), str(n)), str(n)) for n in application.fields]


def render_agreement(application: OpenApplication, account: PublicAccount | None) -> str:
    """The agreement text for this application (deterministic: same input, same text)."""
    settings = get_settings()
    applicant = application.applicant
    is_org = account is not None and account.kind is AccountKind.ORGANIZATION
    text = _env.get_template(TEMPLATE).render(
        city=settings.city_name,
        number=f"GSKF-{application.created_at:%Y%m%d}-{application.id:06d}",
        provider=application.provider.name,
        applicant=(account.applicant_name if account is not None else applicant.display_name),
        credit_code=account.credit_code if is_org and account is not None else "",
        contact=(account.real_name if account is not None else applicant.display_name),
        title=application.dataset.title,
        code=application.dataset.code,
        fields=_field_list(application),
        scenario=application.scenario,
        purpose=application.purpose,
        until=application.requested_until.isoformat(),
        measures=application.security_measures,
        report_months=settings.opening_report_months,
    )
    return text.replace("\r\n", "\n")


def digest(text: str) -> str:
    """The SHA-256 of an agreement text (UTF-8), in hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
