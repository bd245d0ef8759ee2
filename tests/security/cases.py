"""The authorization matrix's expectation table: every route of the app, with a concrete
call of it (real ids from ``world.World``, a valid body) and who may make that call.

A route is keyed by (method, path template) exactly as the app declares it; a route may have
several cases (one per action or format). ``test_authz_matrix`` fails when a route of the
app has no case here, or a case names a route the app no longer has.

Outcomes: ``OK`` the call gets through (2xx, or a 3xx that is not the sign-in redirect);
``AUTH`` the caller must sign in first (401 from the API, a redirect to /login from a
page); ``DENY`` 403; ``HIDE`` 404 — the object exists but the caller may not know it does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gongshu.workdays.calendar import local_today
from tests.security.world import ROLES, SECRET, World

OK, AUTH, DENY, HIDE = "ok", "auth", "deny", "hidden"

Rule = Mapping[str, str]
Ids = Mapping[str, Any]

SIGNED_IN = tuple(r for r in ROLES if r != "anonymous")
BODIES = ("officer", "consumer", "other_officer", "other_consumer", "grantee")
OFFICERS = ("officer", "other_officer", "grantee")
BUREAUS = ("bureau", "district_bureau")
AUDIT = ("auditor", "audit_admin")
# Who reads the provider's people entry in the clear: the gate's bureau and provider steps.
CLEAR_READERS = ("officer", "consumer", "bureau")
# The internal catalog is for public bodies: a citizen or an operator does not see the
# published people entry at all (404), as if it did not exist.
OUTSIDERS = ("public", "operator")
# Accounts: who sees the provider's consumer (its officer, itself, account staff), who manages
# it (user.manage in its region), and who also guards account security (role.assign …).
USER_READERS = (
    "officer",
    "consumer",
    "bureau",
    "auditor",
    "system_admin",
    "security_admin",
    "audit_admin",
)
USER_LISTERS = (*OFFICERS, *BUREAUS, "auditor", "system_admin", "security_admin", "audit_admin")
USER_MANAGERS = ("bureau", "system_admin")
ACCOUNT_GUARDS = (*USER_MANAGERS, "security_admin")
EXPORTERS = (*OFFICERS, *BUREAUS, "system_admin")  # catalog.export
# The audit chain: officers see their body's traffic, a bureau its region's, auditors all.
AUDIT_READERS = (*OFFICERS, *BUREAUS, *AUDIT)
CHAIN_READERS = ("bureau", *AUDIT)  # the whole chain: checkpoints, proofs
QUALITY_READERS = (*BUREAUS, "auditor")
GOVERNANCE_READERS = (*BODIES, *BUREAUS)  # 一数一源 is shown to public bodies
MASK_READERS = (*BUREAUS, "auditor", "security_admin", "audit_admin")
TRACERS = ("bureau", *AUDIT)  # who traces an export's fingerprint
# The provider's side of a thing of its own (an information system, a correction ticket):
# the body's officer and consumer and the city bureau; nobody else knows it exists.
PROVIDER_SIDE = ("officer", "consumer", "bureau")
# A verification service on the people entry: who may call it (the provider, the bureau and
# the grantee, whose grant covers the entry); nobody else sees it.
SERVICE_USERS = (*CLEAR_READERS, "grantee")


def rule(
    ok: Iterable[str] = (),
    *,
    hide: Iterable[str] = (),
    anonymous: str = AUTH,
    others: str = DENY,
) -> dict[str, str]:
    """``ok`` roles get through, ``hide`` roles get 404, anonymous gets ``anonymous``, the
    rest ``others``."""
    out = dict.fromkeys(ROLES, others)
    out["anonymous"] = anonymous
    for role in hide:
        out[role] = HIDE
    for role in ok:
        out[role] = OK
    return out


ANYONE = rule(ROLES, anonymous=OK)
SIGNED = rule(SIGNED_IN)


def only(*roles: str) -> dict[str, str]:
    return rule(roles)


def entry(*ok: str) -> dict[str, str]:
    """A call on the provider's published people entry: outsiders do not see the entry."""
    return rule(ok, hide=OUTSIDERS)


def among(parties: Iterable[str], *ok: str) -> dict[str, str]:
    """A thing only ``parties`` know of: the rest of the signed-in get 404."""
    known = set(parties)
    return rule(ok, hide=[r for r in SIGNED_IN if r not in known])


def unpublished(*ok: str) -> dict[str, str]:
    """A call on an entry that is not published yet (a draft, submitted, approved) or on a
    change request: only its officer and the city bureau know it; the one of them not named
    in ``ok`` is refused."""
    return among(("officer", "bureau"), *ok)


SEES_ENTRY = entry(*(r for r in SIGNED_IN if r not in OUTSIDERS))
PROVIDER_VIEW = entry(*CLEAR_READERS)  # the provider's own views of its data
ROW_READERS = entry(*CLEAR_READERS, "grantee")  # rows through the gate (masked for the grantee)


@dataclass(frozen=True)
class Case:
    """One call of one route and who may make it.

    ``url`` is formatted with the world's ids; ``body`` (JSON for the API, form fields for
    pages) and ``files`` are built from them. ``note`` tells several cases of a route apart.
    ``accept``: statuses that count as getting through, for calls the world cannot make
    succeed (each says why); ``signs_out``: the call ends at the sign-in page by design.
    """

    method: str
    path: str
    rule: Rule
    url: str = ""
    body: Callable[[Ids], Any] | None = None
    files: Callable[[Ids], Any] | None = None
    note: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    accept: tuple[int, ...] = ()
    signs_out: bool = False

    @property
    def page(self) -> bool:
        return not self.path.startswith("/api/")

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.path)

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}" + (f" [{self.note}]" if self.note else "")

    def target(self, ids: Ids) -> str:
        return (self.url or self.path).format(**ids)


def ids_of(w: World) -> dict[str, Any]:
    """The values the case URLs and bodies are filled with."""
    assert w.people is not None and w.open_entry is not None
    return {
        "people": w.people.id,
        "people_code": w.people.code,
        "open": w.open_entry.id,
        "open_code": w.open_entry.code,
        "draft": w.draft,
        "submitted": w.submitted,
        "approved": w.approved,
        "free": w.free,
        "other_entry": w.other_entry,
        "flow": w.flow_dataset,
        "city": w.city,
        "district": w.district,
        "provider": w.provider,
        "other": w.other,
        "grantee_agency": w.grantee,
        "district_agency": w.district_agency,
        "request_active": w.request_active,
        "request_pending": w.request_pending,
        "request_denied": w.request_denied,
        "request_objected": w.request_objected,
        "grant": w.grant,
        "fingerprint": w.fingerprint,
        "ingestion": w.ingestion,
        "change": w.change_request,
        "emergency": w.emergency,
        "vcode": w.verification_code,
        "system": w.system,
        "collection": w.collection,
        "item": w.item,
        "copy": w.copy,
        "correction": w.correction,
        "pull": w.pull_source,
        "notice": w.notice,
        "outbox": w.outbox,
        "key": w.api_key,
        "day": w.calendar_day,
        "phrase": w.pinyin_phrase,
        "seq": w.audit_seq,
        "seal_key": w.seal_key,
        "user": w.target_user,
        "person_id": SECRET["person_id"],
        "today": local_today().isoformat(),
        "ends_on": (local_today() + dt.timedelta(days=60)).isoformat(),
        "ends_at": (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat(),
        "year": local_today().year,
        "export": w.grantee_export,
        "template": w.import_template,
        "district_user": w.district_user,
        "fb_ticket": w.fb_ticket,
        "fb_unrouted": w.fb_unrouted,
        "fb_comment": w.fb_comment,
        "fb_demand": w.fb_demand,
        "fb_pending_demand": w.fb_pending_demand,
        "fb_reuse": w.fb_reuse,
        "fb_appeal": w.fb_appeal,
    }


def csv_upload(ids: Ids) -> dict[str, Any]:
    from tests.security.world import people_csv, people_rows

    return {"file": ("people.csv", people_csv(people_rows()[2:6]), "text/csv")}


def _template(ids: Ids) -> dict[str, Any]:
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return {"file": ("catalog.xlsx", ids["template"], xlsx)}


def _catalog_form(title: str) -> dict[str, str]:
    return {
        "title": title,
        "description": "安全测试新建条目",
        "classification": "department:04",
        "subitem_code": "020",
        "format": "database",
        "share_type": "unconditional",
        "open_type": "unconditional",
        "level": "general_1",
        "update_cycle": "irregular",
        "fields-0-name": "code",
        "fields-0-label": "编号",
        "fields-0-is_key": "1",
        "fields-0-required": "1",
    }


def _dataset_create(ids: Ids) -> dict[str, Any]:
    return {
        "title": "交通违法处理信息",
        "category_class": "department",
        "item_code": "04",
        "subitem_code": "021",
        "share_type": "unconditional",
        "open_type": "unconditional",
        "level": "general_1",
        "update_cycle": "daily",
        "fields": [{"name": "code", "label": "编号", "is_key": True, "required": True}],
    }


# Who may see (and so act on) a share request: its two parties and the city bureau; the
# district bureau and bodies outside it get 404 (tests/share/test_matrix.py).
REQUEST_PARTIES = ("officer", "consumer", "grantee", "bureau")

CASES: list[Case] = []


def add(*cases: Case) -> None:
    CASES.extend(cases)


# --- documentation, home, sign-in --------------------------------------------------------
add(
    Case("GET", "/api/v1/openapi.json", ANYONE),
    Case("GET", "/api/v1/docs", ANYONE),
    Case("GET", "/docs/oauth2-redirect", ANYONE),
    Case("GET", "/", ANYONE),  # the portal's home for anonymous and public users
    Case("GET", "/login", ANYONE),
    Case(
        "POST",
        "/api/v1/auth/token",
        ANYONE,
        body=lambda i: {"username": "sec_public", "password": "Gongshu-Security-2026"},
    ),
    Case(
        "POST",
        "/login",
        ANYONE,
        body=lambda i: {"username": "sec_public", "password": "Gongshu-Security-2026"},
    ),
    Case("POST", "/logout", ANYONE, signs_out=True),
)

# --- accounts ------------------------------------------------------------------------------
add(
    Case("GET", "/api/v1/me", SIGNED),
    Case("GET", "/api/v1/users", only(*USER_LISTERS)),
    Case(
        "POST",
        "/api/v1/users",
        only(*USER_MANAGERS),
        body=lambda i: {
            "username": "sec_new_user",
            "display_name": "新用户",
            "password": "Gongshu-New-2026-x",
            "agency_id": i["provider"],
            "region_id": i["city"],
            "roles": ["agency_consumer"],
        },
    ),
    Case("GET", "/api/v1/users/{user_id}", only(*USER_READERS), url="/api/v1/users/{user}"),
    Case(
        "GET",
        "/api/v1/users/{user_id}",
        only(
            "bureau", "district_bureau", "auditor", "system_admin", "security_admin", "audit_admin"
        ),
        url="/api/v1/users/{district_user}",
        note="district",
    ),
    Case(
        "PATCH",
        "/api/v1/users/{user_id}",
        only(*USER_MANAGERS, "district_bureau"),
        url="/api/v1/users/{district_user}",
        body=lambda i: {"phone": "0539-7654321"},
        note="district",
    ),
    Case(
        "PATCH",
        "/api/v1/users/{user_id}",
        only(*USER_MANAGERS),
        url="/api/v1/users/{user}",
        body=lambda i: {"display_name": "改名后的用户"},
    ),
    Case(
        "PUT",
        "/api/v1/users/{user_id}/roles",
        only(*ACCOUNT_GUARDS),
        url="/api/v1/users/{user}/roles",
        body=lambda i: {"roles": ["agency_officer"]},
    ),
    Case(
        "POST",
        "/api/v1/users/{user_id}/unlock",
        only(*ACCOUNT_GUARDS),
        url="/api/v1/users/{user}/unlock",
    ),
    Case(
        "GET",
        "/api/v1/users/{user_id}/history",
        only(*USER_READERS),
        url="/api/v1/users/{user}/history",
    ),
    Case("GET", "/api/v1/api-keys", SIGNED),
    Case("POST", "/api/v1/api-keys", SIGNED, body=lambda i: {"name": "我的接口密钥"}),
    Case(
        "DELETE",
        "/api/v1/api-keys/{key_id}",
        rule(("officer", "security_admin"), hide=SIGNED_IN),
        url="/api/v1/api-keys/{key}",
    ),
    Case("GET", "/account", SIGNED),
    Case(
        "POST",
        "/account/password",
        SIGNED,
        body=lambda i: {
            "current_password": "Gongshu-Security-2026",
            "new_password": "Gongshu-Changed-2026-y",
            "confirm_password": "Gongshu-Changed-2026-y",
        },
    ),
    Case("POST", "/account/api-keys", SIGNED, body=lambda i: {"name": "网页密钥"}),
    Case(
        "POST",
        "/account/api-keys/{key_id}/revoke",
        rule(("officer", "security_admin"), hide=SIGNED_IN),
        url="/account/api-keys/{key}/revoke",
    ),
    Case("GET", "/account/totp", SIGNED),
    Case("POST", "/account/totp/begin", SIGNED),
    # Nobody has begun or enabled a second factor: confirming or disabling one is answered
    # 422 or 409 after the sign-in check.
    Case("POST", "/account/totp/confirm", SIGNED, body=lambda i: {"code": "000000"}, accept=(422,)),
    Case("POST", "/account/totp/disable", SIGNED, body=lambda i: {"code": "000000"}, accept=(409,)),
    Case("GET", "/users", only(*USER_LISTERS)),
    Case("GET", "/users/new", only(*USER_MANAGERS, "district_bureau")),
    Case(
        "POST",
        "/users/new",
        only(*USER_MANAGERS),
        body=lambda i: {
            "username": "sec_page_user",
            "display_name": "网页新用户",
            "password": "Gongshu-New-2026-z",
            "agency_id": str(i["provider"]),
            "region_id": str(i["city"]),
            "roles": "agency_consumer",
        },
    ),
    Case("GET", "/users/{user_id}", only(*USER_READERS), url="/users/{user}"),
    Case("GET", "/users/{user_id}/edit", only(*ACCOUNT_GUARDS), url="/users/{user}/edit"),
    Case(
        "POST",
        "/users/{user_id}/edit",
        only(*USER_MANAGERS),
        url="/users/{user}/edit",
        body=lambda i: {
            "display_name": "网页改名",
            "agency_id": str(i["provider"]),
            "region_id": str(i["city"]),
            "is_active": "1",
        },
    ),
    Case(
        "POST",
        "/users/{user_id}/roles",
        only(*ACCOUNT_GUARDS),
        url="/users/{user}/roles",
        body=lambda i: {"roles": "agency_officer"},
    ),
    Case("POST", "/users/{user_id}/unlock", only(*ACCOUNT_GUARDS), url="/users/{user}/unlock"),
    Case(
        "POST",
        "/users/{user_id}/reset-totp",
        only(*ACCOUNT_GUARDS),
        url="/users/{user}/reset-totp",
    ),
    Case(
        "POST",
        "/users/{user_id}/password",
        only(*ACCOUNT_GUARDS),
        url="/users/{user}/password",
        body=lambda i: {"new_password": "Gongshu-Reset-2026-q"},
    ),
)

# --- regions and agencies ----------------------------------------------------------------
add(
    Case("GET", "/api/v1/regions", SIGNED),
    Case(
        "POST",
        "/api/v1/regions",
        only("system_admin"),
        body=lambda i: {
            "code": "371311",
            "name": "罗庄区",
            "level": "district",
            "parent_id": i["city"],
        },
    ),
    Case(
        "PATCH",
        "/api/v1/regions/{region_id}",
        only("system_admin"),
        url="/api/v1/regions/{district}",
        body=lambda i: {"name": "兰山区（改）"},
    ),
    Case("GET", "/api/v1/agencies", SIGNED),
    Case(
        "POST",
        "/api/v1/agencies",
        only(*USER_MANAGERS),
        body=lambda i: {
            "name": "临沂市统计局",
            "credit_code": "11371300MB00091054",
            "region_id": i["city"],
            "kind": "government",
        },
    ),
    Case("GET", "/api/v1/agencies/{agency_id}", SIGNED, url="/api/v1/agencies/{provider}"),
    Case(
        "PATCH",
        "/api/v1/agencies/{agency_id}",
        only(*USER_MANAGERS),
        url="/api/v1/agencies/{provider}",
        body=lambda i: {"phone": "0539-8888888"},
    ),
    Case(
        "GET",
        "/api/v1/agencies/{agency_id}/history",
        SIGNED,
        url="/api/v1/agencies/{provider}/history",
    ),
    Case("GET", "/regions", SIGNED),
    Case(
        "POST",
        "/regions",
        only("system_admin"),
        body=lambda i: {
            "code": "371312",
            "name": "河东区",
            "level": "district",
            "parent_id": str(i["city"]),
        },
    ),
    Case("GET", "/agencies", SIGNED),
    Case("GET", "/agencies/new", only(*USER_MANAGERS, "district_bureau")),
    Case(
        "POST",
        "/agencies/new",
        only(*USER_MANAGERS),
        body=lambda i: {
            "name": "临沂市审计局",
            "credit_code": "11371300MB00091067",
            "region_id": str(i["city"]),
            "kind": "government",
        },
    ),
    Case(
        "GET",
        "/agencies/{agency_id}/edit",
        only(*USER_MANAGERS),
        url="/agencies/{provider}/edit",
    ),
    Case(
        "POST",
        "/agencies/{agency_id}/edit",
        only(*USER_MANAGERS),
        url="/agencies/{provider}/edit",
        body=lambda i: {
            "name": "临沂市公安局",
            "credit_code": "11371300MB0009101P",
            "region_id": str(i["city"]),
            "kind": "government",
            "phone": "0539-1234567",
        },
    ),
    Case(
        "POST",
        "/agencies/{agency_id}/active",
        only(*USER_MANAGERS),
        url="/agencies/{other}/active",
        body=lambda i: {"active": "0"},
    ),
    Case("GET", "/agencies/{agency_id}", SIGNED, url="/agencies/{provider}"),
)

# --- the catalog --------------------------------------------------------------------------
add(
    Case("GET", "/api/v1/datasets", SIGNED),
    Case("POST", "/api/v1/datasets", only(*OFFICERS), body=_dataset_create),
    Case("GET", "/api/v1/datasets/{dataset_id}", SEES_ENTRY, url="/api/v1/datasets/{people}"),
    Case(
        "GET",
        "/api/v1/datasets/{dataset_id}",
        unpublished("officer", "bureau"),
        url="/api/v1/datasets/{draft}",
        note="draft",
    ),
    Case(
        "PATCH",
        "/api/v1/datasets/{dataset_id}",
        rule(("officer",), hide=("other_officer", "grantee")),
        url="/api/v1/datasets/{draft}",
        body=lambda i: {"description": "草稿的新说明"},
    ),
    Case(
        "GET",
        "/api/v1/datasets/{dataset_id}/history",
        SEES_ENTRY,
        url="/api/v1/datasets/{people}/history",
    ),
    Case(
        "GET", "/api/v1/catalog/export", only(*EXPORTERS), url="/api/v1/catalog/export?format=csv"
    ),
    Case("GET", "/api/v1/catalog/classification", ANYONE),
    Case("GET", "/api/v1/catalog/grading", ANYONE),
    Case("GET", "/api/v1/catalog/lists/{kind}", SIGNED, url="/api/v1/catalog/lists/negative"),
    Case("GET", "/api/v1/catalog/import/template", SIGNED),
    Case(
        "POST",
        "/api/v1/catalog/import",
        only(*OFFICERS),
        files=_template,
        accept=(422,),  # the empty template: "no entries to import", after the permission check
    ),
    Case(
        "GET",
        "/api/v1/datasets/{dataset_id}/workflow",
        SEES_ENTRY,
        url="/api/v1/datasets/{people}/workflow",
    ),
    Case(
        "POST",
        "/api/v1/datasets/{dataset_id}/submit",
        unpublished("officer"),
        url="/api/v1/datasets/{draft}/submit",
        body=lambda i: {},
    ),
    Case(
        "POST",
        "/api/v1/datasets/{dataset_id}/recall",
        unpublished("officer"),
        url="/api/v1/datasets/{submitted}/recall",
        body=lambda i: {},
    ),
    Case(
        "POST",
        "/api/v1/datasets/{dataset_id}/approve",
        unpublished("bureau"),
        url="/api/v1/datasets/{submitted}/approve",
        body=lambda i: {"comment": "同意"},
    ),
    Case(
        "POST",
        "/api/v1/datasets/{dataset_id}/return",
        unpublished("bureau"),
        url="/api/v1/datasets/{submitted}/return",
        body=lambda i: {"reason": "信息项不全"},
    ),
    Case(
        "POST",
        "/api/v1/datasets/{dataset_id}/publish",
        unpublished("bureau"),
        url="/api/v1/datasets/{approved}/publish",
        body=lambda i: {},
    ),
    Case("GET", "/api/v1/review-queue", only(*BUREAUS)),
    Case("GET", "/api/v1/change-requests", SIGNED),
    Case(
        "POST",
        "/api/v1/datasets/{dataset_id}/change-requests",
        only("officer"),
        url="/api/v1/datasets/{free}/change-requests",
        body=lambda i: {
            "kind": "delete",
            "reason": "职责取消",
            "basis_changed_on": i["today"],
        },
    ),
    Case(
        "GET",
        "/api/v1/change-requests/{change_id}",
        unpublished("officer", "bureau"),
        url="/api/v1/change-requests/{change}",
    ),
    Case(
        "POST",
        "/api/v1/change-requests/{change_id}/review",
        rule(("bureau",), hide=("district_bureau",)),
        url="/api/v1/change-requests/{change}/review",
        body=lambda i: {"approve": True, "comment": "同意"},
    ),
    Case("GET", "/catalog", SIGNED),
    Case("GET", "/catalog/export", only(*EXPORTERS), url="/catalog/export?format=csv"),
    Case("GET", "/catalog/lists", ANYONE),
    Case("GET", "/catalog/lists/{kind}", SIGNED, url="/catalog/lists/negative"),
    Case("GET", "/catalog/lists/{kind}/export", SIGNED, url="/catalog/lists/negative/export"),
    Case("GET", "/catalog/import", only(*OFFICERS)),
    Case("GET", "/catalog/import/template", SIGNED),
    Case(
        "POST",
        "/catalog/import",
        only(*OFFICERS),
        files=_template,
        accept=(422,),  # the empty template: "no entries to import", after the permission check
    ),
    Case("GET", "/catalog/review", only(*BUREAUS)),
    Case("GET", "/catalog/changes", SIGNED),
    Case(
        "POST",
        "/catalog/{dataset_id}/submit",
        unpublished("officer"),
        url="/catalog/{draft}/submit",
    ),
    Case(
        "POST",
        "/catalog/{dataset_id}/recall",
        unpublished("officer"),
        url="/catalog/{submitted}/recall",
    ),
    Case(
        "POST",
        "/catalog/{dataset_id}/publish",
        unpublished("bureau"),
        url="/catalog/{approved}/publish",
    ),
    Case(
        "POST",
        "/catalog/{dataset_id}/approve",
        unpublished("bureau"),
        url="/catalog/{submitted}/approve",
        body=lambda i: {"comment": "同意"},
    ),
    Case(
        "GET",
        "/catalog/{dataset_id}/return",
        unpublished("bureau"),
        url="/catalog/{submitted}/return",
    ),
    Case(
        "POST",
        "/catalog/{dataset_id}/return",
        unpublished("bureau"),
        url="/catalog/{submitted}/return",
        body=lambda i: {"reason": "信息项不全"},
    ),
    Case(
        "GET",
        "/catalog/{dataset_id}/change-request",
        entry("officer"),
        url="/catalog/{free}/change-request",
    ),
    Case(
        "POST",
        "/catalog/{dataset_id}/change-request",
        entry("officer"),
        url="/catalog/{free}/change-request",
        body=lambda i: {"kind": "delete", "reason": "职责取消", "basis_changed_on": i["today"]},
    ),
    Case(
        "GET",
        "/catalog/changes/{change_id}",
        unpublished("officer", "bureau"),
        url="/catalog/changes/{change}",
    ),
    Case(
        "POST",
        "/catalog/changes/{change_id}/review",
        rule(("bureau",), hide=("district_bureau",)),
        url="/catalog/changes/{change}/review",
        body=lambda i: {"decision": "approve", "comment": "同意"},
    ),
    Case("GET", "/catalog/new", only(*OFFICERS)),
    Case("POST", "/catalog/new", only(*OFFICERS), body=lambda i: _catalog_form("网页新建条目")),
    Case("GET", "/catalog/{dataset_id}/edit", unpublished("officer"), url="/catalog/{draft}/edit"),
    Case(
        "POST",
        "/catalog/{dataset_id}/edit",
        unpublished("officer"),
        url="/catalog/{draft}/edit",
        body=lambda i: {**_catalog_form("暂住人员登记信息"), "classification": "department:04"},
    ),
    Case("GET", "/catalog/{dataset_id}", SEES_ENTRY, url="/catalog/{people}"),
    Case(
        "GET",
        "/catalog/{dataset_id}",
        unpublished("officer", "bureau"),
        url="/catalog/{draft}",
        note="draft",
    ),
)

# --- the audit chain --------------------------------------------------------------------
add(
    Case("GET", "/api/v1/audit/entries", only(*AUDIT_READERS)),
    Case("GET", "/api/v1/audit/entries.csv", only(*AUDIT_READERS)),
    Case(
        "GET",
        "/api/v1/audit/entries/{seq}",
        rule(("officer", *CHAIN_READERS), hide=AUDIT_READERS),
        url="/api/v1/audit/entries/{seq}",
    ),
    Case("GET", "/api/v1/audit/stats", only(*AUDIT_READERS)),
    Case("POST", "/api/v1/audit/verify", only(*AUDIT)),
    Case("GET", "/api/v1/audit/checkpoints", only(*CHAIN_READERS)),
    Case("GET", "/api/v1/audit/proof/{seq}", only(*CHAIN_READERS), url="/api/v1/audit/proof/{seq}"),
    Case("GET", "/audit", ANYONE),
    Case("GET", "/audit/entries", only(*AUDIT_READERS)),
    Case("GET", "/audit/entries.csv", only(*AUDIT_READERS)),
    Case(
        "GET",
        "/audit/entries/{seq}",
        rule(("officer", *CHAIN_READERS), hide=AUDIT_READERS),
        url="/audit/entries/{seq}",
    ),
    Case("GET", "/audit/stats", only(*AUDIT_READERS)),
    Case("GET", "/audit/checkpoints", only(*CHAIN_READERS)),
    Case("GET", "/audit/checkpoints.jsonl", only(*CHAIN_READERS)),
    Case("POST", "/audit/verify", only(*AUDIT)),
)

# --- working days, notices, systems, search --------------------------------------------
add(
    Case("GET", "/api/v1/calendar/overrides", SIGNED),
    Case(
        "POST",
        "/api/v1/calendar/overrides",
        only(*USER_MANAGERS),
        body=lambda i: {"day": i["day"], "is_workday": True, "note": "调休"},
    ),
    Case(
        "DELETE",
        "/api/v1/calendar/overrides/{day}",
        only(*USER_MANAGERS),
        url="/api/v1/calendar/overrides/{day}",
    ),
    Case("GET", "/api/v1/calendar/days/{day}", SIGNED, url="/api/v1/calendar/days/{today}"),
    Case(
        "GET",
        "/api/v1/calendar/deadline",
        SIGNED,
        url="/api/v1/calendar/deadline?start={today}&days=10",
    ),
    Case("GET", "/admin/calendar", only(*USER_MANAGERS, "district_bureau")),
    Case(
        "POST",
        "/admin/calendar/overrides",
        only(*USER_MANAGERS),
        body=lambda i: {"day": i["day"], "is_workday": "1", "note": "调休"},
    ),
    Case(
        "POST",
        "/admin/calendar/overrides/{day}/delete",
        only(*USER_MANAGERS),
        url="/admin/calendar/overrides/{day}/delete",
    ),
    Case("GET", "/api/v1/notices", SIGNED),
    Case("GET", "/api/v1/notices/unread-count", SIGNED),
    Case("POST", "/api/v1/notices/read-all", SIGNED),
    Case(
        "POST",
        "/api/v1/notices/{notice_id}/read",
        rule(("officer",), hide=SIGNED_IN),
        url="/api/v1/notices/{notice}/read",
    ),
    Case("GET", "/notices", SIGNED),
    Case("POST", "/notices/read-all", SIGNED),
    Case(
        "POST",
        "/notices/{notice_id}/read",
        rule(("officer",), hide=SIGNED_IN),
        url="/notices/{notice}/read",
    ),
    Case("GET", "/admin/outbox", only("system_admin")),
    Case(
        "POST",
        "/admin/outbox/{message_id}/retry",
        only("system_admin"),
        url="/admin/outbox/{outbox}/retry",
    ),
    Case("GET", "/api/v1/systems", SIGNED),
    Case(
        "POST",
        "/api/v1/systems",
        only("officer", "bureau"),
        body=lambda i: {"name": "新的业务系统", "agency_id": i["provider"]},
    ),
    Case(
        "GET",
        "/api/v1/systems/{system_id}",
        among(PROVIDER_SIDE, *PROVIDER_SIDE),
        url="/api/v1/systems/{system}",
    ),
    Case(
        "PATCH",
        "/api/v1/systems/{system_id}",
        among(PROVIDER_SIDE, "officer", "bureau"),
        url="/api/v1/systems/{system}",
        body=lambda i: {"contact": "王某"},
    ),
    Case(
        "GET",
        "/api/v1/systems/{system_id}/links",
        among(PROVIDER_SIDE, *PROVIDER_SIDE),
        url="/api/v1/systems/{system}/links",
    ),
    Case(
        "POST",
        "/api/v1/systems/{system_id}/links",
        among(PROVIDER_SIDE, "officer", "bureau"),
        url="/api/v1/systems/{system}/links",
        body=lambda i: {"dataset_id": i["free"]},
    ),
    Case(
        "DELETE",
        "/api/v1/systems/{system_id}/links/{dataset_id}",
        among(PROVIDER_SIDE, "officer", "bureau"),
        url="/api/v1/systems/{system}/links/{people}",
    ),
    Case("GET", "/systems", SIGNED),
    Case("GET", "/systems/new", SIGNED),
    Case(
        "POST",
        "/systems/new",
        only("officer", "bureau"),
        body=lambda i: {"name": "网页新业务系统", "agency_id": str(i["provider"])},
    ),
    Case(
        "GET", "/systems/{system_id}", among(PROVIDER_SIDE, *PROVIDER_SIDE), url="/systems/{system}"
    ),
    Case(
        "GET",
        "/systems/{system_id}/edit",
        among(PROVIDER_SIDE, "officer", "bureau"),
        url="/systems/{system}/edit",
    ),
    Case(
        "POST",
        "/systems/{system_id}/edit",
        among(PROVIDER_SIDE, "officer", "bureau"),
        url="/systems/{system}/edit",
        body=lambda i: {"name": "人口信息管理系统", "status": "running"},
    ),
    Case(
        "POST",
        "/systems/{system_id}/links",
        among(PROVIDER_SIDE, "officer", "bureau"),
        url="/systems/{system}/links",
        body=lambda i: {"dataset": str(i["free"]), "dataset_id": str(i["free"])},
    ),
    Case(
        "POST",
        "/systems/{system_id}/links/{dataset_id}/delete",
        among(PROVIDER_SIDE, "officer", "bureau"),
        url="/systems/{system}/links/{people}/delete",
    ),
    Case("GET", "/api/v1/search/pinyin-overrides", only("bureau", "system_admin")),
    Case(
        "PUT",
        "/api/v1/search/pinyin-overrides",
        only("bureau", "system_admin"),
        body=lambda i: {"phrase": "费县", "pinyin": "bi xian"},
    ),
    Case(
        "DELETE",
        "/api/v1/search/pinyin-overrides/{phrase}",
        only("bureau", "system_admin"),
        url="/api/v1/search/pinyin-overrides/{phrase}",
    ),
    Case("GET", "/api/v1/search/status", only("bureau", "system_admin")),
    Case("GET", "/admin/pinyin", only("bureau", "system_admin")),
    Case(
        "POST",
        "/admin/pinyin",
        only("bureau", "system_admin"),
        body=lambda i: {"phrase": "单县", "pinyin": "shan xian"},
    ),
    Case(
        "POST",
        "/admin/pinyin/delete",
        only("bureau", "system_admin"),
        body=lambda i: {"phrase": i["phrase"]},
    ),
)

# --- aggregation: uploads, versions, rows (through the gate), pulls -------------------------
# The provider's views of its own data (ingestions, versions, profiles, traces) are for those
# who read it in the clear; a grant reader reads rows (and version diffs) masked through the
# gate instead.
add(
    Case(
        "POST",
        "/api/v1/datasets/{dataset_id}/ingestions",
        entry("officer"),
        url="/api/v1/datasets/{people}/ingestions",
        files=csv_upload,
    ),
    Case(
        "GET",
        "/api/v1/datasets/{dataset_id}/ingestions",
        PROVIDER_VIEW,
        url="/api/v1/datasets/{people}/ingestions",
    ),
    Case(
        "GET",
        "/api/v1/ingestions/{ingestion_id}",
        PROVIDER_VIEW,
        url="/api/v1/ingestions/{ingestion}",
    ),
    Case(
        "GET",
        "/api/v1/ingestions/{ingestion_id}/rejected",
        PROVIDER_VIEW,
        url="/api/v1/ingestions/{ingestion}/rejected",
    ),
    Case(
        "GET",
        "/api/v1/datasets/{dataset_id}/ingest-profile",
        PROVIDER_VIEW,
        url="/api/v1/datasets/{people}/ingest-profile",
    ),
    Case(
        "PUT",
        "/api/v1/datasets/{dataset_id}/ingest-profile",
        entry("officer"),
        url="/api/v1/datasets/{people}/ingest-profile",
        body=lambda i: {"on_invalid": "quarantine"},
    ),
    Case(
        "GET",
        "/api/v1/datasets/{dataset_id}/versions",
        PROVIDER_VIEW,
        url="/api/v1/datasets/{people}/versions",
    ),
    Case(
        "GET",
        "/api/v1/datasets/{dataset_id}/versions/{number}",
        PROVIDER_VIEW,
        url="/api/v1/datasets/{people}/versions/1",
    ),
    Case(
        "POST",
        "/api/v1/datasets/{dataset_id}/versions/{number}/rollback",
        entry("officer"),
        url="/api/v1/datasets/{people}/versions/1/rollback",
    ),
    Case(
        "GET",
        "/api/v1/datasets/{dataset_id}/diff",
        ROW_READERS,
        url="/api/v1/datasets/{people}/diff?from=1&to=2",
    ),
    Case(
        "GET",
        "/api/v1/datasets/{dataset_id}/rows",
        ROW_READERS,
        url="/api/v1/datasets/{people}/rows",
    ),
    Case(
        "POST",
        "/api/v1/datasets/{dataset_id}/rows",
        entry("officer"),
        url="/api/v1/datasets/{people}/rows",
        body=lambda i: {
            "mode": "upsert",
            "rows": [
                {
                    "person_id": i["person_id"],
                    "name": "甄鑫淼",
                    "district": "兰山区",
                    "registered_on": "2015-03-02",
                }
            ],
        },
    ),
    Case(
        "GET",
        "/api/v1/identifiers/{kind}/{value}",
        SIGNED,
        url="/api/v1/identifiers/citizen_id/{person_id}",
    ),
    Case(
        "GET",
        "/api/v1/datasets/{dataset_id}/trace",
        PROVIDER_VIEW,
        url="/api/v1/datasets/{people}/trace?key={person_id}",
    ),
    Case(
        "GET",
        "/api/v1/datasets/{dataset_id}/pull-sources",
        entry("officer", "bureau"),
        url="/api/v1/datasets/{people}/pull-sources",
    ),
    Case(
        "POST",
        "/api/v1/datasets/{dataset_id}/pull-sources",
        entry("officer"),
        url="/api/v1/datasets/{people}/pull-sources",
        body=lambda i: {
            "name": "hukou_two",
            "url": "postgresql+psycopg://agency@127.0.0.1:5432/hukou",
            "query": "SELECT * FROM people",
            "schedule": "every 2h",
            "enabled": False,
        },
    ),
    Case(
        "GET",
        "/api/v1/datasets/{dataset_id}/pull-sources/{source_id}",
        entry("officer", "bureau"),
        url="/api/v1/datasets/{people}/pull-sources/{pull}",
    ),
    Case(
        "PATCH",
        "/api/v1/datasets/{dataset_id}/pull-sources/{source_id}",
        entry("officer"),
        url="/api/v1/datasets/{people}/pull-sources/{pull}",
        body=lambda i: {"schedule": "every 30m"},
    ),
    Case(
        "DELETE",
        "/api/v1/datasets/{dataset_id}/pull-sources/{source_id}",
        entry("officer"),
        url="/api/v1/datasets/{people}/pull-sources/{pull}",
    ),
    Case(
        "GET",
        "/api/v1/datasets/{dataset_id}/pull-sources/{source_id}/runs",
        entry("officer", "bureau"),
        url="/api/v1/datasets/{people}/pull-sources/{pull}/runs",
    ),
    Case(
        "POST",
        "/api/v1/datasets/{dataset_id}/pull-sources/{source_id}/run",
        entry("officer"),
        url="/api/v1/datasets/{people}/pull-sources/{pull}/run",
    ),
    Case(
        "POST",
        "/api/v1/datasets/{dataset_id}/pull-sources/{source_id}/test",
        entry("officer"),
        url="/api/v1/datasets/{people}/pull-sources/{pull}/test",
        accept=(422,),  # the agency database does not exist: the connection test fails
    ),
    Case("GET", "/catalog/{dataset_id}/data", SEES_ENTRY, url="/catalog/{people}/data"),
    Case(
        "GET",
        "/catalog/{dataset_id}/data/upload",
        entry("officer"),
        url="/catalog/{people}/data/upload",
    ),
    Case(
        "POST",
        "/catalog/{dataset_id}/data/upload",
        entry("officer"),
        url="/catalog/{people}/data/upload",
        files=csv_upload,
    ),
    Case(
        "POST",
        "/catalog/{dataset_id}/data/settings",
        entry("officer"),
        url="/catalog/{people}/data/settings",
        body=lambda i: {"on_invalid": "quarantine"},
    ),
    Case(
        "GET",
        "/catalog/{dataset_id}/ingestions/{ingestion_id}",
        PROVIDER_VIEW,
        url="/catalog/{people}/ingestions/{ingestion}",
    ),
    Case(
        "GET",
        "/catalog/{dataset_id}/ingestions/{ingestion_id}/rejected.csv",
        PROVIDER_VIEW,
        url="/catalog/{people}/ingestions/{ingestion}/rejected.csv",
    ),
    Case("GET", "/catalog/{dataset_id}/versions", PROVIDER_VIEW, url="/catalog/{people}/versions"),
    Case(
        "POST",
        "/catalog/{dataset_id}/versions/{number}/rollback",
        entry("officer"),
        url="/catalog/{people}/versions/1/rollback",
    ),
    Case(
        "GET",
        "/catalog/{dataset_id}/versions/diff",
        ROW_READERS,
        url="/catalog/{people}/versions/diff?from=1&to=2",
    ),
    Case(
        "GET",
        "/catalog/{dataset_id}/versions/{number}",
        PROVIDER_VIEW,
        url="/catalog/{people}/versions/2",
    ),
    Case(
        "GET",
        "/catalog/{dataset_id}/trace",
        PROVIDER_VIEW,
        url="/catalog/{people}/trace?key={person_id}",
    ),
    Case(
        "GET",
        "/catalog/{dataset_id}/pull",
        entry("officer", "bureau"),
        url="/catalog/{people}/pull",
    ),
    Case(
        "GET", "/catalog/{dataset_id}/pull/new", entry("officer"), url="/catalog/{people}/pull/new"
    ),
    Case(
        "POST",
        "/catalog/{dataset_id}/pull/new",
        entry("officer"),
        url="/catalog/{people}/pull/new",
        body=lambda i: {
            "name": "hukou_web",
            "url": "postgresql+psycopg://agency@127.0.0.1:5432/hukou",
            "query": "SELECT * FROM people",
            "schedule": "every 2h",
            "mode": "replace",
        },
    ),
    Case(
        "GET",
        "/catalog/{dataset_id}/pull/{source_id}",
        entry("officer", "bureau"),
        url="/catalog/{people}/pull/{pull}",
    ),
    Case(
        "GET",
        "/catalog/{dataset_id}/pull/{source_id}/edit",
        entry("officer"),
        url="/catalog/{people}/pull/{pull}/edit",
    ),
    Case(
        "POST",
        "/catalog/{dataset_id}/pull/{source_id}/edit",
        entry("officer"),
        url="/catalog/{people}/pull/{pull}/edit",
        body=lambda i: {
            "url": "postgresql+psycopg://agency@127.0.0.1:5432/hukou",
            "query": "SELECT * FROM people",
            "schedule": "every 30m",
            "mode": "replace",
        },
    ),
    Case(
        "POST",
        "/catalog/{dataset_id}/pull/{source_id}/test",
        entry("officer"),
        url="/catalog/{people}/pull/{pull}/test",
        accept=(422,),  # the agency database does not exist: the connection test fails
    ),
    Case(
        "POST",
        "/catalog/{dataset_id}/pull/{source_id}/run",
        entry("officer"),
        url="/catalog/{people}/pull/{pull}/run",
    ),
    Case(
        "POST",
        "/catalog/{dataset_id}/pull/{source_id}/delete",
        entry("officer"),
        url="/catalog/{people}/pull/{pull}/delete",
    ),
)

# --- quality and governance -------------------------------------------------------------------
add(
    Case(
        "GET",
        "/api/v1/quality/datasets/{dataset_id}",
        SEES_ENTRY,
        url="/api/v1/quality/datasets/{people}",
    ),
    Case("GET", "/api/v1/quality/agencies", only(*QUALITY_READERS)),
    Case(
        "GET",
        "/api/v1/quality/agencies/{agency_id}",
        only("officer", "bureau", "auditor"),
        url="/api/v1/quality/agencies/{provider}",
    ),
    Case("GET", "/api/v1/quality/overdue", only(*QUALITY_READERS)),
    Case("GET", "/catalog/{dataset_id}/quality", SEES_ENTRY, url="/catalog/{people}/quality"),
    Case("GET", "/quality", only(*QUALITY_READERS)),
    Case(
        "GET",
        "/quality/agencies/{agency_id}",
        only("officer", "bureau", "auditor"),
        url="/quality/agencies/{provider}",
    ),
    Case("GET", "/quality/overdue", only(*QUALITY_READERS)),
    Case("GET", "/api/v1/governance/collections", only(*GOVERNANCE_READERS)),
    Case(
        "POST",
        "/api/v1/governance/collections",
        only("bureau"),
        body=lambda i: {"code": "sec_theme", "name": "安全测试主题库"},
    ),
    Case("GET", "/api/v1/governance/items", only(*GOVERNANCE_READERS)),
    Case(
        "POST",
        "/api/v1/governance/items",
        only("bureau"),
        body=lambda i: {
            "collection_id": i["collection"],
            "name": "手机号码",
            "key_kind": "citizen_id",
        },
    ),
    Case(
        "GET",
        "/api/v1/governance/items/{item_id}",
        only(*GOVERNANCE_READERS),
        url="/api/v1/governance/items/{item}",
    ),
    Case(
        "PUT",
        "/api/v1/governance/items/{item_id}/source",
        only("bureau"),
        url="/api/v1/governance/items/{item}/source",
        body=lambda i: {"dataset_id": i["people"], "field_name": "name", "replace": True},
    ),
    Case(
        "DELETE",
        "/api/v1/governance/items/{item_id}/source",
        only("bureau"),
        url="/api/v1/governance/items/{item}/source",
    ),
    Case(
        "POST",
        "/api/v1/governance/items/{item_id}/copies",
        only("bureau"),
        url="/api/v1/governance/items/{item}/copies",
        body=lambda i: {"dataset_id": i["submitted"], "field_name": "name"},
    ),
    Case(
        "DELETE",
        "/api/v1/governance/items/{item_id}/copies/{copy_id}",
        only("bureau"),
        url="/api/v1/governance/items/{item}/copies/{copy}",
    ),
    Case(
        "GET",
        "/api/v1/governance/items/{item_id}/suggestions",
        only(*GOVERNANCE_READERS),
        url="/api/v1/governance/items/{item}/suggestions",
    ),
    Case(
        "POST",
        "/api/v1/governance/checks",
        only("bureau"),
        body=lambda i: {"item_id": i["item"]},
    ),
    Case("GET", "/api/v1/governance/issues", SIGNED),
    Case("GET", "/api/v1/governance/corrections", SIGNED),
    Case(
        "POST",
        "/api/v1/governance/corrections",
        entry(*CLEAR_READERS),
        body=lambda i: {
            "dataset_id": i["people"],
            "key_value": i["person_id"],
            "field_name": "district",
            "proposed_value": "罗庄区",
            "reason": "已迁出",
        },
    ),
    Case(
        "GET",
        "/api/v1/governance/corrections/{objection_id}",
        among(PROVIDER_SIDE, *PROVIDER_SIDE),
        url="/api/v1/governance/corrections/{correction}",
    ),
    Case(
        "POST",
        "/api/v1/governance/corrections/{objection_id}/answer",
        among(PROVIDER_SIDE, "officer"),
        url="/api/v1/governance/corrections/{correction}/answer",
        body=lambda i: {"decision": "accept", "reason": "核实无误"},
    ),
    Case(
        "POST",
        "/api/v1/governance/corrections/{objection_id}/close",
        among(PROVIDER_SIDE, "officer"),
        url="/api/v1/governance/corrections/{correction}/close",
        body=lambda i: {"version": 3},
    ),
    Case("GET", "/governance/sources", only(*GOVERNANCE_READERS)),
    Case(
        "POST",
        "/governance/collections",
        only("bureau"),
        body=lambda i: {"code": "sec_theme_web", "name": "网页主题库"},
    ),
    Case(
        "POST",
        "/governance/items",
        only("bureau"),
        body=lambda i: {
            "collection_id": str(i["collection"]),
            "name": "户籍地址",
            "key_kind": "citizen_id",
        },
    ),
    Case(
        "POST",
        "/governance/items/{item_id}/source",
        only("bureau"),
        url="/governance/items/{item}/source",
        body=lambda i: {"dataset": str(i["people"]), "field_name": "name", "replace": "1"},
    ),
    Case(
        "POST",
        "/governance/items/{item_id}/source/delete",
        only("bureau"),
        url="/governance/items/{item}/source/delete",
    ),
    Case(
        "POST",
        "/governance/items/{item_id}/copies",
        only("bureau"),
        url="/governance/items/{item}/copies",
        body=lambda i: {"dataset": str(i["submitted"]), "field_name": "name"},
    ),
    Case(
        "POST",
        "/governance/items/{item_id}/copies/{copy_id}/delete",
        only("bureau"),
        url="/governance/items/{item}/copies/{copy}/delete",
    ),
    Case("POST", "/governance/checks", only("bureau"), body=lambda i: {"item_id": str(i["item"])}),
    Case("GET", "/governance/issues", only(*GOVERNANCE_READERS)),
    Case("GET", "/governance/corrections", SIGNED),
    Case(
        "GET",
        "/governance/corrections/{objection_id}",
        among(PROVIDER_SIDE, *PROVIDER_SIDE),
        url="/governance/corrections/{correction}",
    ),
    Case(
        "POST",
        "/governance/corrections/{objection_id}/answer",
        among(PROVIDER_SIDE, "officer"),
        url="/governance/corrections/{correction}/answer",
        body=lambda i: {"decision": "accept", "reason": "核实无误"},
    ),
    Case(
        "POST",
        "/governance/corrections/{objection_id}/close",
        among(PROVIDER_SIDE, "officer"),
        url="/governance/corrections/{correction}/close",
        body=lambda i: {"version": "3"},
    ),
    Case(
        "GET",
        "/catalog/{dataset_id}/corrections/new",
        entry(*CLEAR_READERS, "grantee"),
        url="/catalog/{people}/corrections/new",
    ),
    Case(
        "POST",
        "/catalog/{dataset_id}/corrections/new",
        entry(*CLEAR_READERS),
        url="/catalog/{people}/corrections/new",
        body=lambda i: {
            "key_value": i["person_id"],
            "field_name": "district",
            "proposed_value": "罗庄区",
            "reason": "已迁出",
        },
    ),
)

# --- sharing ---------------------------------------------------------------------------
ASK = {
    "purpose": "执法办案核查",
    "scenario": "核对涉案人员身份信息",
    "fields": ["person_id", "name"],
    "legal_basis": "《中华人民共和国行政处罚法》第五十五条",
}
REQUEST_VIEW = among(REQUEST_PARTIES, *REQUEST_PARTIES)


def _request_rule(*ok: str) -> dict[str, str]:
    return among(REQUEST_PARTIES, *ok)


add(
    Case("GET", "/api/v1/share/requests", SIGNED),
    Case(
        "POST",
        "/api/v1/share/requests",
        entry("other_officer", "other_consumer", "grantee"),
        body=lambda i: {**ASK, "dataset_id": i["free"], "ends_on": i["ends_on"]},
    ),
    Case(
        "GET",
        "/api/v1/share/requests/{request_id}",
        REQUEST_VIEW,
        url="/api/v1/share/requests/{request_pending}",
    ),
    Case(
        "POST",
        "/api/v1/share/requests/{request_id}/grant",
        _request_rule("officer"),
        url="/api/v1/share/requests/{request_pending}/grant",
        body=lambda i: {"clear_fields": [], "reason": "同意"},
    ),
    Case(
        "POST",
        "/api/v1/share/requests/{request_id}/deny",
        _request_rule("officer"),
        url="/api/v1/share/requests/{request_pending}/deny",
        body=lambda i: {"reason": "不符合条件"},
    ),
    Case(
        "POST",
        "/api/v1/share/requests/{request_id}/object",
        _request_rule("grantee"),
        url="/api/v1/share/requests/{request_denied}/object",
        body=lambda i: {"reason": "依法履职需要"},
    ),
    Case(
        "POST",
        "/api/v1/share/requests/{request_id}/arbitrate",
        _request_rule("bureau"),
        url="/api/v1/share/requests/{request_objected}/arbitrate",
        body=lambda i: {"grant": True, "reason": "依法应予共享", "clear_fields": []},
    ),
    Case(
        "POST",
        "/api/v1/share/requests/{request_id}/revoke",
        _request_rule("officer", "bureau"),
        url="/api/v1/share/requests/{request_active}/revoke",
        body=lambda i: {"reason": "用途已结束"},
    ),
    Case("GET", "/api/v1/share/grants", SIGNED),
    Case(
        "POST",
        "/api/v1/share/grants/{grant_id}/revoke",
        _request_rule("officer", "bureau"),
        url="/api/v1/share/grants/{grant}/revoke",
        body=lambda i: {"reason": "用途已结束"},
    ),
    Case("GET", "/api/v1/share/emergencies", only(*BUREAUS, *AUDIT)),
    Case("GET", "/api/v1/share/emergencies/active", SIGNED),
    Case(
        "POST",
        "/api/v1/share/emergencies",
        only("bureau"),
        body=lambda i: {
            "name": "森林防火应急",
            "reason": "蒙山火情",
            "dataset_ids": [i["free"]],
            "agency_ids": [i["other"]],
            "ends_at": i["ends_at"],
        },
    ),
    Case(
        "GET",
        "/api/v1/share/emergencies/{emergency_id}",
        only(*BUREAUS, *AUDIT),
        url="/api/v1/share/emergencies/{emergency}",
    ),
    Case(
        "POST",
        "/api/v1/share/emergencies/{emergency_id}/end",
        only("bureau"),
        url="/api/v1/share/emergencies/{emergency}/end",
        body=lambda i: {"reason": "汛情解除"},
    ),
    Case("GET", "/api/v1/share/return-flows", only(*BUREAUS)),
    Case(
        "PUT",
        "/api/v1/share/return-flows/{dataset_id}",
        only("bureau"),
        url="/api/v1/share/return-flows/{flow}",
        body=lambda i: {"field_name": "district_code", "value_map": {"371302": "371302"}},
    ),
    Case(
        "DELETE",
        "/api/v1/share/return-flows/{dataset_id}",
        only("bureau"),
        url="/api/v1/share/return-flows/{flow}",
    ),
    Case("POST", "/api/v1/share/return-flows/sync", only("bureau")),
    Case("GET", "/api/v1/share/assessments", only(*OFFICERS, *BUREAUS)),
    Case(
        "GET",
        "/api/v1/share/assessments/{dataset_id}",
        SEES_ENTRY,
        url="/api/v1/share/assessments/{people}",
    ),
    Case(
        "POST",
        "/api/v1/share/assessments/{dataset_id}",
        entry("officer"),
        url="/api/v1/share/assessments/{people}",
        body=lambda i: {"outcome": "keep", "reason": "仍含个人信息"},
    ),
    Case("GET", "/share", SIGNED),
    Case("GET", "/share/requests", SIGNED),
    Case("GET", "/share/inbox", SIGNED),
    Case("GET", "/share/arbitration", SIGNED),
    Case("GET", "/share/requests/new", SEES_ENTRY, url="/share/requests/new?dataset={free}"),
    Case(
        "POST",
        "/share/requests",
        entry("other_officer", "other_consumer", "grantee"),
        body=lambda i: {
            **ASK,
            "fields": "person_id",
            "dataset_id": str(i["free"]),
            "ends_on": i["ends_on"],
        },
    ),
    Case(
        "GET",
        "/share/requests/{request_id}",
        REQUEST_VIEW,
        url="/share/requests/{request_pending}",
    ),
    Case(
        "POST",
        "/share/requests/{request_id}/{action}",
        _request_rule("officer"),
        url="/share/requests/{request_pending}/grant",
        body=lambda i: {"reason": "同意"},
        note="grant",
    ),
    Case(
        "POST",
        "/share/requests/{request_id}/{action}",
        _request_rule("officer"),
        url="/share/requests/{request_pending}/deny",
        body=lambda i: {"reason": "不符合条件"},
        note="deny",
    ),
    Case(
        "POST",
        "/share/requests/{request_id}/{action}",
        _request_rule("grantee"),
        url="/share/requests/{request_denied}/object",
        body=lambda i: {"reason": "依法履职需要"},
        note="object",
    ),
    Case(
        "POST",
        "/share/requests/{request_id}/{action}",
        _request_rule("bureau"),
        url="/share/requests/{request_objected}/arbitrate",
        body=lambda i: {"outcome": "grant", "reason": "依法应予共享"},
        note="arbitrate",
    ),
    Case(
        "POST",
        "/share/requests/{request_id}/{action}",
        _request_rule("officer", "bureau"),
        url="/share/requests/{request_active}/revoke",
        body=lambda i: {"reason": "用途已结束"},
        note="revoke",
    ),
    Case("GET", "/share/grants", SIGNED),
    Case(
        "POST",
        "/share/grants/{grant_id}/revoke",
        _request_rule("officer", "bureau"),
        url="/share/grants/{grant}/revoke",
        body=lambda i: {"reason": "用途已结束"},
    ),
    Case("GET", "/share/emergencies", only(*BUREAUS, *AUDIT)),
    Case(
        "POST",
        "/share/emergencies",
        only("bureau"),
        body=lambda i: {
            "name": "森林防火应急",
            "reason": "蒙山火情",
            "dataset_ids": str(i["free"]),
            "agency_ids": str(i["other"]),
            "ends_at": i["ends_at"][:16],
        },
    ),
    Case(
        "GET",
        "/share/emergencies/{emergency_id}",
        only(*BUREAUS, *AUDIT),
        url="/share/emergencies/{emergency}",
    ),
    Case(
        "POST",
        "/share/emergencies/{emergency_id}/end",
        only("bureau"),
        url="/share/emergencies/{emergency}/end",
        body=lambda i: {"reason": "汛情解除"},
    ),
    Case("GET", "/share/return-flows", only(*BUREAUS)),
    Case(
        "GET", "/share/return-flows/{dataset_id}", only(*BUREAUS), url="/share/return-flows/{flow}"
    ),
    Case("POST", "/share/return-flows/sync", only("bureau")),
    Case(
        "POST",
        "/share/return-flows/{dataset_id}",
        only("bureau"),
        url="/share/return-flows/{flow}",
        body=lambda i: {"field_name": "district_code", "value_371302": "371302"},
    ),
    Case(
        "POST",
        "/share/return-flows/{dataset_id}/disable",
        only("bureau"),
        url="/share/return-flows/{flow}/disable",
    ),
    Case("GET", "/share/reassessments", only(*OFFICERS, *BUREAUS)),
    Case(
        "GET",
        "/share/reassessments/{dataset_id}",
        SEES_ENTRY,
        url="/share/reassessments/{people}",
    ),
    Case(
        "POST",
        "/share/reassessments/{dataset_id}",
        entry("officer"),
        url="/share/reassessments/{people}",
        body=lambda i: {"outcome": "keep", "reason": "仍含个人信息"},
    ),
)

# --- masking rules, seals, verification, profiles ----------------------------------------
add(
    Case("GET", "/api/v1/masking/rules", only(*MASK_READERS)),
    Case(
        "PUT",
        "/api/v1/masking/rules/{level}/{sensitivity}",
        only("security_admin"),
        url="/api/v1/masking/rules/general_3/email",
        body=lambda i: {"technique": "hash"},
    ),
    Case("GET", "/admin/masking", only(*MASK_READERS)),
    Case(
        "POST",
        "/admin/masking",
        only("security_admin"),
        body=lambda i: {"rule-general_3-email": "hash"},
    ),
    Case("GET", "/api/v1/seal/keys", ANYONE),
    Case("GET", "/api/v1/seal/keys/{key_id}", ANYONE, url="/api/v1/seal/keys/{seal_key}"),
    Case(
        "POST",
        "/api/v1/seal/verify",
        ANYONE,
        files=lambda i: {
            "file": ("a.csv", b"a,b\n", "text/csv"),
            "signature": ("a.csv.sig.json", b"{}", "application/json"),
        },
    ),
    Case("GET", "/seal/verify", ANYONE),
    Case(
        "POST",
        "/seal/verify",
        ANYONE,
        files=lambda i: {
            "file": ("a.csv", b"a,b\n", "text/csv"),
            "signature": ("a.csv.sig.json", b"{}", "application/json"),
        },
    ),
    Case("GET", "/api/v1/verification/services", SIGNED),
    Case(
        "POST",
        "/api/v1/verification/services",
        only("bureau"),
        body=lambda i: {
            "code": "people-mobile",
            "name": "手机号核验",
            "dataset_id": i["people"],
            "key_field": "person_id",
            "fields": ["mobile"],
        },
    ),
    Case(
        "GET",
        "/api/v1/verification/services/{code}",
        among(SERVICE_USERS, *SERVICE_USERS),
        url="/api/v1/verification/services/{vcode}",
    ),
    Case(
        "PUT",
        "/api/v1/verification/services/{code}",
        rule(("bureau",), hide=("district_bureau",)),
        url="/api/v1/verification/services/{vcode}",
        body=lambda i: {"name": "人口身份核验", "key_field": "person_id", "fields": ["name"]},
    ),
    Case(
        "POST",
        "/api/v1/verification/services/{code}/check",
        only(*SERVICE_USERS),
        url="/api/v1/verification/services/{vcode}/check",
        body=lambda i: {"key": i["person_id"], "claims": {"name": "甄鑫淼"}, "purpose": "身份核验"},
    ),
    Case(
        "POST",
        "/api/v1/verification/services/{code}/batch",
        only(*SERVICE_USERS),
        url="/api/v1/verification/services/{vcode}/batch",
        body=lambda i: {
            "purpose": "身份核验",
            "checks": [{"key": i["person_id"], "claims": {"name": "甄鑫淼"}}],
        },
    ),
    Case(
        "POST",
        "/api/v1/verification/datasets/{dataset_id}/check",
        only(*SERVICE_USERS),
        url="/api/v1/verification/datasets/{people}/check",
        body=lambda i: {"key": i["person_id"], "claims": {"name": "甄鑫淼"}, "purpose": "身份核验"},
    ),
    Case("GET", "/verification", SIGNED),
    Case(
        "POST",
        "/verification",
        only("bureau"),
        body=lambda i: {
            "code": "people-web",
            "name": "网页核验服务",
            "dataset_code": i["people_code"],
            "key_field": "person_id",
            "fields": "name",
            "active": "1",
        },
    ),
    Case(
        "GET",
        "/verification/{code}",
        among(SERVICE_USERS, *SERVICE_USERS),
        url="/verification/{vcode}",
    ),
    Case(
        "POST",
        "/verification/{code}/edit",
        among(SERVICE_USERS, "bureau"),
        url="/verification/{vcode}/edit",
        body=lambda i: {
            "name": "人口身份核验",
            "key_field": "person_id",
            "fields": "name",
            "active": "1",
        },
    ),
    Case(
        "POST",
        "/verification/{code}/check",
        among(SERVICE_USERS, *SERVICE_USERS),
        url="/verification/{vcode}/check",
        body=lambda i: {"key": i["person_id"], "claim_name": "甄鑫淼", "purpose": "身份核验"},
    ),
    Case(
        "GET",
        "/api/v1/profiles/{kind}/{value}",
        SIGNED,
        url="/api/v1/profiles/citizen_id/{person_id}?purpose=身份核查",
    ),
    Case("GET", "/profiles", SIGNED),
    Case(
        "POST",
        "/profiles",
        SIGNED,
        body=lambda i: {"kind": "citizen_id", "value": i["person_id"], "purpose": "身份核查"},
    ),
)

# --- the data API, its pages, and the open-data interfaces -----------------------------------
DATA = "/api/v1/data/{people}"
add(
    Case(
        "GET",
        "/api/v1/data/fingerprints/{fingerprint}",
        rule(TRACERS, hide=("district_bureau",)),
        url="/api/v1/data/fingerprints/{fingerprint}",
    ),
    Case(
        "GET",
        "/api/v1/data/{ref:path}/rows",
        ROW_READERS,
        url=DATA + "/rows?_purpose=核查",
    ),
    Case(
        "GET",
        "/api/v1/data/{ref:path}/count",
        ROW_READERS,
        url=DATA + "/count?_purpose=核查",
    ),
    Case(
        "GET",
        "/api/v1/data/{ref:path}/aggregate",
        ROW_READERS,
        url=DATA + "/aggregate?_purpose=核查&_group=district&_measure=count",
    ),
    *[
        Case(
            "GET",
            "/api/v1/data/{ref:path}/export.{fmt}",
            ROW_READERS,
            url=DATA + f"/export.{fmt}?_purpose=核查",
            note=fmt,
        )
        for fmt in ("csv", "xlsx", "json", "parquet")
    ],
    Case(
        "GET",
        "/api/v1/data/{ref:path}/export.csv.zip",
        ROW_READERS,
        url=DATA + "/export.csv.zip?_purpose=核查",
    ),
    Case(
        "POST",
        "/api/v1/data/fingerprints/trace",
        rule(TRACERS, hide=("district_bureau",)),
        files=lambda i: {"file": ("leak.csv", i["export"], "text/csv")},
    ),
    Case(
        "POST",
        "/data-api/fingerprints",
        rule(TRACERS, hide=("district_bureau",)),
        files=lambda i: {"file": ("leak.csv", i["export"], "text/csv")},
    ),
    Case("GET", "/api/v1/data/{ref:path}", ROW_READERS, url=DATA),
    # An unconditionally open entry's rows are everyone's: the data API asks only for
    # credentials (anonymous visitors download from the portal's pages instead).
    Case(
        "GET",
        "/api/v1/data/{ref:path}/rows",
        SIGNED,
        url="/api/v1/data/{open}/rows?_purpose=查询",
        note="open entry",
    ),
    Case("GET", "/data-api", SIGNED),
    Case("GET", "/data-api/fingerprints", only(*TRACERS, "district_bureau")),
    *[
        Case(method, path, ANYONE, url=f"{path.split('{')[0]}package_search?q=人口", note="search")
        for path in ("/api/3/action/{name}", "/api/action/{name}")
        for method in ("GET", "POST")
    ],
    Case(
        "GET",
        "/api/3/action/{name}",
        rule(anonymous=HIDE, others=HIDE),
        url="/api/3/action/datastore_search?resource_id={people}-csv",
        note="datastore_search",
    ),
    Case(
        "GET",
        "/api/3/action/{name}",
        ANYONE,
        url="/api/3/action/datastore_search?resource_id={open}-csv",
        note="datastore_search open entry",
    ),
    Case("GET", "/catalog.{fmt}", ANYONE, url="/catalog.ttl"),
    Case(
        "GET",
        "/dataset/{ref:path}/datapackage.json",
        ANYONE,
        url="/dataset/{open}/datapackage.json",
    ),
    Case("GET", "/dataset/{ref:path}.ttl", ANYONE, url="/dataset/{open}.ttl"),
    Case("GET", "/dataset/{ref:path}.rdf", ANYONE, url="/dataset/{open}.rdf"),
    Case("GET", "/dataset/{ref:path}.jsonld", ANYONE, url="/dataset/{open}.jsonld"),
    # The public portal's pages and downloads (gongshu.portal.pages, .downloads).
    Case("GET", "/dataset", ANYONE, url="/dataset?q=人口"),
    Case("GET", "/dataset/{slug}", ANYONE, url="/dataset/{open}"),
    Case(
        "GET",
        "/dataset/{slug}",
        rule(anonymous=HIDE, others=HIDE),
        url="/dataset/{people}",
        note="not public",
    ),
    Case("GET", "/dataset/{slug}/download.{fmt}", ANYONE, url="/dataset/{open}/download.csv"),
    Case(
        "GET",
        "/dataset/{slug}/download.{fmt}",
        rule(anonymous=HIDE, others=HIDE),
        url="/dataset/{people}/download.xlsx",
        note="not public",
    ),
    Case("GET", "/dataset/{slug}/download.csv.zip", ANYONE, url="/dataset/{open}/download.csv.zip"),
    Case("GET", "/organization", ANYONE),
    Case("GET", "/organization/{slug}", ANYONE, url="/organization/{provider}"),
    Case("GET", "/theme/{slug}", ANYONE, url="/theme/gong-gong-an-quan"),
    Case("GET", "/developers", ANYONE),
    Case(
        "GET",
        "/dataset/{ref:path}.ttl",
        rule(anonymous=HIDE, others=HIDE),
        url="/dataset/{draft}.ttl",
        note="draft",
    ),
)

# The portal's statistics, open list, Atom feeds and subscriptions (gongshu.portalstats).
STATS_ALL = rule(BUREAUS)  # every entry's figures: the bureau's (catalog.read_all)
add(
    Case("GET", "/stats", ANYONE),
    Case("GET", "/stats", STATS_ALL, url="/stats?scope=all", note="all entries"),
    Case("GET", "/stats/agency/{slug}", ANYONE, url="/stats/agency/{provider}"),
    Case(
        "GET",
        "/stats/agency/{slug}",
        rule(("officer", *BUREAUS)),
        url="/stats/agency/{provider}?scope=all",
        note="all the agency's entries: the bureau and its own officer",
    ),
    Case("GET", "/api/v1/portal/stats", ANYONE),
    Case(
        "GET", "/api/v1/portal/stats", STATS_ALL, url="/api/v1/portal/stats?scope=all", note="all"
    ),
    Case("GET", "/open-list", ANYONE, url="/open-list?agency={provider}"),
    Case("GET", "/open-list.xlsx", ANYONE),
    Case("GET", "/api/v1/portal/open-list", ANYONE),
    Case("GET", "/feeds/latest.atom", ANYONE),
    Case("GET", "/feeds/dataset/{slug}.atom", ANYONE, url="/feeds/dataset/{open}.atom"),
    Case(
        "GET",
        "/feeds/dataset/{slug}.atom",
        rule(anonymous=HIDE, others=HIDE),
        url="/feeds/dataset/{people}.atom",
        note="not public",
    ),
    Case(
        "GET", "/feeds/organization/{slug}.atom", ANYONE, url="/feeds/organization/{provider}.atom"
    ),
    Case("GET", "/feeds/theme/{slug}.atom", ANYONE, url="/feeds/theme/gong-gong-an-quan.atom"),
    Case("GET", "/subscriptions", SIGNED),
    Case(
        "POST",
        "/subscriptions",
        SIGNED,
        body=lambda i: {"kind": "dataset", "target": str(i["open"]), "back": "/subscriptions"},
    ),
    Case(
        "POST",
        "/subscriptions",
        rule(anonymous=AUTH, others=HIDE),
        body=lambda i: {"kind": "dataset", "target": str(i["people"])},
        note="not public",
    ),
    Case(
        "POST",
        "/subscriptions/delete",
        SIGNED,
        body=lambda i: {"kind": "dataset", "target": str(i["open"])},
        accept=(404,),  # nobody in the world follows the entry: "you do not follow this"
    ),
)

# Public accounts and conditional opening (gongshu.opening). The world has no conditional
# open entry and no open application: applying for its open (unconditional) entry is
# refused for the public as "no application needed" (409, shown on the form as 422) and
# for everyone else as "public users only"; an application id nobody holds is 404.
NO_APPLICATION = 999_999
NOBODY_KNOWS = rule(hide=SIGNED_IN)
add(
    Case("GET", "/register", ANYONE),  # signed-in users are sent on to /account
    Case("POST", "/register", ANYONE, body=lambda i: {"kind": "individual"}, accept=(422,)),
    Case(
        "POST",
        "/api/v1/public/register",
        ANYONE,
        body=lambda i: {"kind": "individual", "username": "x"},
        accept=(422,),
    ),
    Case("GET", "/dataset/{slug}/apply", SIGNED, url="/dataset/{open}/apply"),
    Case(
        "POST",
        "/dataset/{slug}/apply",
        only("public"),
        url="/dataset/{open}/apply",
        body=lambda i: {"scenario": "研究", "reporting_committed": "1"},
        accept=(422,),  # the open entry needs no application
    ),
    Case("GET", "/applications", SIGNED),
    Case(
        "GET",
        "/applications/{application_id}",
        NOBODY_KNOWS,
        url=f"/applications/{NO_APPLICATION}",
    ),
    *(
        Case(
            "POST",
            f"/applications/{{application_id}}/{action}",
            NOBODY_KNOWS,
            url=f"/applications/{NO_APPLICATION}/{action}",
            body=lambda i: {"reason": "违约", "content": "报告", "outcome": "approve"},
        )
        for action in ("accept", "decide", "withdraw", "revoke", "reports")
    ),
    Case("GET", "/api/v1/open-applications", SIGNED),
    Case(
        "POST",
        "/api/v1/open-applications",
        only("public"),
        body=lambda i: {"dataset_id": i["open"]},
        accept=(409,),  # the open entry needs no application
    ),
    Case(
        "GET",
        "/api/v1/open-applications/{application_id}",
        NOBODY_KNOWS,
        url=f"/api/v1/open-applications/{NO_APPLICATION}",
    ),
    Case(
        "GET",
        "/api/v1/open-applications/{application_id}/agreement",
        NOBODY_KNOWS,
        url=f"/api/v1/open-applications/{NO_APPLICATION}/agreement",
    ),
    Case(
        "POST",
        "/api/v1/open-applications/{application_id}/accept",
        NOBODY_KNOWS,
        url=f"/api/v1/open-applications/{NO_APPLICATION}/accept",
        body=lambda i: {"agreement_sha256": "0" * 64},
    ),
    Case(
        "POST",
        "/api/v1/open-applications/{application_id}/decision",
        NOBODY_KNOWS,
        url=f"/api/v1/open-applications/{NO_APPLICATION}/decision",
        body=lambda i: {"outcome": "approve"},
    ),
    Case(
        "POST",
        "/api/v1/open-applications/{application_id}/withdraw",
        NOBODY_KNOWS,
        url=f"/api/v1/open-applications/{NO_APPLICATION}/withdraw",
    ),
    Case(
        "POST",
        "/api/v1/open-applications/{application_id}/revoke",
        NOBODY_KNOWS,
        url=f"/api/v1/open-applications/{NO_APPLICATION}/revoke",
        body=lambda i: {"reason": "违约"},
    ),
    Case(
        "POST",
        "/api/v1/open-applications/{application_id}/reports",
        NOBODY_KNOWS,
        url=f"/api/v1/open-applications/{NO_APPLICATION}/reports",
        body=lambda i: {"content": "报告"},
    ),
)

# --- public feedback (gongshu.feedback) --------------------------------------------------------
# The bureau (catalog.review) screens, routes and moderates; the agency in charge (the
# provider's officer) replies; signed-in users file; anyone reads what is public.
# The open entry is the city's: the district bureau moderates only its district's entries, and
# demands and reuses (city-wide) are the city bureau's; both see their own queues and figures.
MODERATORS = only(*BUREAUS)
CITY_MODERATOR = only("bureau")
REPLIER = only("officer")
FILER_SIDE = ("public", "bureau", "officer")  # who knows an appeal or an unrouted ticket
FB_HIDDEN = rule(FILER_SIDE, anonymous=HIDE, others=HIDE)  # not public yet
PENDING = rule(("public", "bureau"), anonymous=HIDE, others=HIDE)  # held for moderation
APPEAL_PARTIES = among(FILER_SIDE, *FILER_SIDE)
APPEAL_STATEMENT = rule(
    ("officer",), hide=[r for r in SIGNED_IN if r not in FILER_SIDE]
)  # the appellant and the bureau know the appeal but only the provider states
APPEAL_DECISION = rule(("bureau",), hide=("district_bureau",))  # a district's bureau: 404
FEEDBACK = lambda i: {"kind": "error", "text": "矩阵测试：数据有误"}  # noqa: E731
REPLY = lambda i: {"decision": "answer", "reply": "矩阵测试答复"}  # noqa: E731
APPROVE = lambda i: {"decision": "approve"}  # noqa: E731
REASON = lambda i: {"reason": "矩阵测试理由"}  # noqa: E731
DEMAND = lambda i: {"title": "矩阵测试需求", "description": "矩阵测试需求内容"}  # noqa: E731
REUSE_API = lambda i: {  # noqa: E731
    "title": "矩阵测试成果",
    "kind": "report",
    "url": "https://example.org/m",
    "description": "矩阵测试成果简介",
    "submitter": "矩阵测试",
    "dataset_ids": [i["open"]],
}
add(
    Case(
        "GET",
        "/api/v1/feedback/datasets/{dataset_id}",
        ANYONE,
        url="/api/v1/feedback/datasets/{open}",
    ),
    Case(
        "POST",
        "/api/v1/feedback/datasets/{dataset_id}",
        SIGNED,
        url="/api/v1/feedback/datasets/{open}",
        body=FEEDBACK,
    ),
    Case("GET", "/api/v1/feedback/{objection_id}", ANYONE, url="/api/v1/feedback/{fb_ticket}"),
    Case(
        "GET",
        "/api/v1/feedback/{objection_id}",
        FB_HIDDEN,
        url="/api/v1/feedback/{fb_unrouted}",
        note="not routed",
    ),
    Case(
        "POST",
        "/api/v1/feedback/{objection_id}/route",
        CITY_MODERATOR,
        url="/api/v1/feedback/{fb_unrouted}/route",
        body=lambda i: {},
    ),
    Case(
        "POST",
        "/api/v1/feedback/{objection_id}/screen-out",
        CITY_MODERATOR,
        url="/api/v1/feedback/{fb_unrouted}/screen-out",
        body=REASON,
    ),
    Case(
        "POST",
        "/api/v1/feedback/{objection_id}/reply",
        REPLIER,
        url="/api/v1/feedback/{fb_ticket}/reply",
        body=REPLY,
    ),
    Case(
        "POST",
        "/api/v1/feedback/{objection_id}/corrected",
        REPLIER,
        url="/api/v1/feedback/{fb_ticket}/corrected",
        body=lambda i: {"version": 1},
    ),
    Case(
        "GET",
        "/api/v1/feedback/datasets/{dataset_id}/comments",
        ANYONE,
        url="/api/v1/feedback/datasets/{open}/comments",
    ),
    Case(
        "POST",
        "/api/v1/feedback/datasets/{dataset_id}/comments",
        SIGNED,
        url="/api/v1/feedback/datasets/{open}/comments",
        body=lambda i: {"text": "矩阵测试留言"},
    ),
    Case(
        "POST",
        "/api/v1/feedback/comments/{comment_id}/moderate",
        CITY_MODERATOR,
        url="/api/v1/feedback/comments/{fb_comment}/moderate",
        body=APPROVE,
    ),
    Case(
        "POST",
        "/api/v1/feedback/datasets/{dataset_id}/appeals",
        SIGNED,
        url="/api/v1/feedback/datasets/{open}/appeals",
        body=lambda i: {"text": "矩阵测试：该数据侵犯我的权益"},
    ),
    Case(
        "GET",
        "/api/v1/feedback/appeals/{appeal_id}",
        APPEAL_PARTIES,
        url="/api/v1/feedback/appeals/{fb_appeal}",
    ),
    Case(
        "POST",
        "/api/v1/feedback/appeals/{appeal_id}/statement",
        APPEAL_STATEMENT,
        url="/api/v1/feedback/appeals/{fb_appeal}/statement",
        body=lambda i: {"statement": "矩阵测试意见"},
    ),
    Case(
        "POST",
        "/api/v1/feedback/appeals/{appeal_id}/decide",
        APPEAL_DECISION,
        url="/api/v1/feedback/appeals/{fb_appeal}/decide",
        body=lambda i: {"decision": "dismissed", "reason": "矩阵测试理由"},
    ),
    Case("GET", "/api/v1/feedback/mine", SIGNED),
    Case("GET", "/api/v1/feedback/queues", MODERATORS),
    Case("GET", "/api/v1/feedback/response-times", MODERATORS),
    Case("GET", "/api/v1/demands", ANYONE),
    Case("POST", "/api/v1/demands", SIGNED, body=DEMAND),
    Case("GET", "/api/v1/demands/{demand_id}", ANYONE, url="/api/v1/demands/{fb_demand}"),
    Case(
        "GET",
        "/api/v1/demands/{demand_id}",
        PENDING,
        url="/api/v1/demands/{fb_pending_demand}",
        note="pending",
    ),
    Case(
        "POST", "/api/v1/demands/{demand_id}/vote", SIGNED, url="/api/v1/demands/{fb_demand}/vote"
    ),
    Case(
        "POST",
        "/api/v1/demands/{demand_id}/route",
        CITY_MODERATOR,
        url="/api/v1/demands/{fb_pending_demand}/route",
        body=lambda i: {"agency_id": i["provider"]},
    ),
    Case(
        "POST",
        "/api/v1/demands/{demand_id}/reject",
        CITY_MODERATOR,
        url="/api/v1/demands/{fb_pending_demand}/reject",
        body=REASON,
    ),
    Case(
        "POST",
        "/api/v1/demands/{demand_id}/reply",
        REPLIER,
        url="/api/v1/demands/{fb_demand}/reply",
        body=lambda i: {"decision": "decline", "reply": "矩阵测试答复"},
    ),
    Case(
        "POST",
        "/api/v1/demands/{demand_id}/link",
        REPLIER,
        url="/api/v1/demands/{fb_demand}/link",
        body=lambda i: {"dataset_id": i["open"]},
        accept=(409,),  # the world's demand is routed, not yet accepted
    ),
    Case("GET", "/api/v1/reuses", ANYONE),
    Case("POST", "/api/v1/reuses", SIGNED, body=REUSE_API),
    Case("GET", "/api/v1/reuses/{reuse_id}", PENDING, url="/api/v1/reuses/{fb_reuse}"),
    Case(
        "POST",
        "/api/v1/reuses/{reuse_id}/moderate",
        CITY_MODERATOR,
        url="/api/v1/reuses/{fb_reuse}/moderate",
        body=APPROVE,
    ),
    # Pages.
    Case("GET", "/dataset/{slug}/feedback", ANYONE, url="/dataset/{open}/feedback"),
    Case("POST", "/dataset/{slug}/feedback", SIGNED, url="/dataset/{open}/feedback", body=FEEDBACK),
    Case(
        "POST",
        "/dataset/{slug}/feedback/comments",
        SIGNED,
        url="/dataset/{open}/feedback/comments",
        body=lambda i: {"text": "矩阵测试留言"},
    ),
    Case("GET", "/dataset/{slug}/feedback/appeal", SIGNED, url="/dataset/{open}/feedback/appeal"),
    Case(
        "POST",
        "/dataset/{slug}/feedback/appeal",
        SIGNED,
        url="/dataset/{open}/feedback/appeal",
        body=lambda i: {"text": "矩阵测试：该数据侵犯我的权益"},
    ),
    Case(
        "GET",
        "/dataset/{slug}/feedback/{objection_id}",
        ANYONE,
        url="/dataset/{open}/feedback/{fb_ticket}",
    ),
    Case("GET", "/appeals/{appeal_id}", APPEAL_PARTIES, url="/appeals/{fb_appeal}"),
    Case(
        "POST",
        "/appeals/{appeal_id}/statement",
        APPEAL_STATEMENT,
        url="/appeals/{fb_appeal}/statement",
        body=lambda i: {"statement": "矩阵测试意见"},
    ),
    Case(
        "POST",
        "/appeals/{appeal_id}/decide",
        APPEAL_DECISION,
        url="/appeals/{fb_appeal}/decide",
        body=lambda i: {"decision": "dismissed", "reason": "矩阵测试理由"},
    ),
    Case("GET", "/demands", ANYONE),
    Case("GET", "/demands/new", SIGNED),
    Case("GET", "/account/feedback", SIGNED),
    Case("POST", "/demands", SIGNED, body=DEMAND),
    Case("GET", "/demands/{demand_id}", ANYONE, url="/demands/{fb_demand}"),
    Case("POST", "/demands/{demand_id}/vote", SIGNED, url="/demands/{fb_demand}/vote"),
    Case(
        "POST",
        "/demands/{demand_id}/route",
        CITY_MODERATOR,
        url="/demands/{fb_pending_demand}/route",
        body=lambda i: {"agency_id": str(i["provider"])},
    ),
    Case(
        "POST",
        "/demands/{demand_id}/reject",
        CITY_MODERATOR,
        url="/demands/{fb_pending_demand}/reject",
        body=REASON,
    ),
    Case(
        "POST",
        "/demands/{demand_id}/reply",
        REPLIER,
        url="/demands/{fb_demand}/reply",
        body=lambda i: {"decision": "accept", "reply": "矩阵测试答复"},
    ),
    Case("GET", "/reuses", ANYONE),
    Case("GET", "/reuses/new", SIGNED),
    Case(
        "POST",
        "/reuses",
        SIGNED,
        body=lambda i: {**REUSE_API(i), "dataset_ids": None, "datasets": str(i["open"])},
    ),
    Case("GET", "/reuses/{reuse_id}", PENDING, url="/reuses/{fb_reuse}"),
    Case("GET", "/moderation", MODERATORS),
    Case(
        "POST",
        "/moderation/comments/{comment_id}",
        CITY_MODERATOR,
        url="/moderation/comments/{fb_comment}",
        body=APPROVE,
    ),
    Case(
        "POST",
        "/moderation/reuses/{reuse_id}",
        CITY_MODERATOR,
        url="/moderation/reuses/{fb_reuse}",
        body=APPROVE,
    ),
    Case(
        "POST",
        "/moderation/objections/{objection_id}",
        CITY_MODERATOR,
        url="/moderation/objections/{fb_unrouted}",
        body=lambda i: {"decision": "route", "agency_id": ""},
    ),
    Case("GET", "/moderation/replies", SIGNED),
    Case(
        "POST",
        "/moderation/objections/{objection_id}/reply",
        REPLIER,
        url="/moderation/objections/{fb_ticket}/reply",
        body=REPLY,
    ),
    Case(
        "POST",
        "/moderation/objections/{objection_id}/corrected",
        REPLIER,
        url="/moderation/objections/{fb_ticket}/corrected",
        body=lambda i: {"version": "1", "correction_id": ""},
    ),
    Case("GET", "/moderation/response-times", MODERATORS),
)
