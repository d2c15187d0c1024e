"""Which columns of a file go to which fields: the fields a record type can import, and the
mapping proposed from the headers (English and Chinese field names, custom field labels,
Kehu's own export headers, and the headers of Salesforce, HubSpot and Zoho exports)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils import translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from kehu.platform.customfields.definitions import definitions
from kehu.platform.fields import EncryptedField
from kehu.platform.records import RecordType

NUMBER = "number"
TAGS = "tags"
CUSTOM_PREFIX = "custom."
# A person's name in two columns (Salesforce, HubSpot and Chinese sheets split it: 姓 / 名),
# joined into the name field when no column gives the whole name.
GIVEN_NAME = "name.given"
FAMILY_NAME = "name.family"
NAME_PARTS = (GIVEN_NAME, FAMILY_NAME)
PERSON_TYPES = frozenset({"contact"})


def join_name(given: str, family: str) -> str:
    """A person's name from its parts: surname first without a space in Chinese (张 + 三 →
    张三), "Given Family" otherwise."""
    from kehu.dataio.matching import has_cjk

    given, family = given.strip(), family.strip()
    if has_cjk(given + family):
        return family + given
    return " ".join(part for part in (given, family) if part)


@dataclass(frozen=True)
class ImportField:
    name: str  # a model field, "custom.<name>", "tags", or "number" (to match existing records)
    label: str
    required: bool
    kind: str  # text, choice, relation, user, date, datetime, decimal, integer, boolean, phone,
    # email, url, many, tags, number, custom:<kind>
    help: str = ""


def field_kind(field: models.Field) -> str:
    if isinstance(field, EncryptedField):
        return field.kind if field.kind in ("phone", "email") else "text"
    if isinstance(field, models.ManyToManyField):
        return "many"
    if isinstance(field, models.ForeignKey):
        return "user" if field.related_model._meta.label == "accounts.User" else "relation"  # type: ignore[union-attr]
    if field.choices:
        return "choice"
    if isinstance(field, models.BooleanField):
        return "boolean"
    if isinstance(field, models.DateTimeField):
        return "datetime"
    if isinstance(field, models.DateField):
        return "date"
    if isinstance(field, models.DecimalField | models.FloatField):
        return "decimal"
    if isinstance(field, models.IntegerField):
        return "integer"
    if isinstance(field, models.URLField):
        return "url"
    if isinstance(field, models.EmailField):
        return "email"
    if type(field).__name__ == "PhoneField":
        return "phone"
    return "text"


def _required(field: models.Field) -> bool:
    if field.name in ("owner", "team") or isinstance(field, models.BooleanField | models.ManyToManyField):
        return False
    return (
        not field.blank
        and not field.has_default()
        and getattr(field, "db_default", models.NOT_PROVIDED) is (models.NOT_PROVIDED)
    )


def _help(kind: str) -> str:
    return {
        "relation": _("A record number or an exact name."),
        "user": _("A user name, email address or full name."),
        "date": _("2026-03-01, 2026/3/1, 2026年3月1日 or a spreadsheet date."),
        "datetime": _("2026-03-01 14:30, or a date."),
        "decimal": _("1234.5, 1,234.50 or ¥1,234.50."),
        "boolean": _("Yes/no, 是/否, true/false, 1/0."),
        "choice": _("A value or its label (English or Chinese)."),
        "tags": _("Tag names separated by commas, semicolons or 、."),
        "many": _("Record numbers or names separated by commas."),
        "number": _("Used to find existing records; never written."),
    }.get(kind, "")


def importable_fields(rt: RecordType) -> list[ImportField]:
    """The fields of ``rt`` a column can be mapped to, in form order."""
    found: list[ImportField] = [
        ImportField(NUMBER, capfirst(str(rt.model_field("number").verbose_name)), False, "number", _help("number"))
    ]
    for name in [*rt.fields, *rt.create_only]:
        field = rt.model_field(name)
        kind = field_kind(field)
        found.append(ImportField(name, capfirst(str(field.verbose_name)), _required(field), kind, _help(kind)))
    for definition in definitions(rt.key):
        required = bool(definition.required) and definition.default is None
        found.append(
            ImportField(
                f"{CUSTOM_PREFIX}{definition.name}", str(definition.label), required, f"custom:{definition.kind}"
            )
        )
    if rt.key in PERSON_TYPES:
        found.append(ImportField(GIVEN_NAME, _("Given name (first name)"), False, "name_part"))
        found.append(ImportField(FAMILY_NAME, _("Family name (surname)"), False, "name_part"))
    found.append(ImportField(TAGS, capfirst(_("tags")), False, "tags", _help("tags")))
    from kehu.dataio.imports.services import importer_for

    special = importer_for(rt.key)
    if special is not None:
        found.extend(special.extra_fields(rt))
    return found


_PUNCTUATION = re.compile(r"[\s\W_]+", re.UNICODE)


def normalize_header(text: Any) -> str:
    """A header compared with names: NFKC, case-folded, spaces and punctuation removed."""
    return _PUNCTUATION.sub("", unicodedata.normalize("NFKC", str(text or "")).casefold())


# Header synonyms by record type ("*": every type); normalized when compared.
SYNONYMS: dict[str, dict[str, list[str]]] = {
    "*": {
        "number": ["编号", "记录编号", "ID", "Record ID", "No", "No."],
        "owner": [
            "负责人",
            "客户经理",
            "销售",
            "业务员",
            "所有人",
            "Owner",
            "Account Owner",
            "Company owner",
            "Contact owner",
            "Deal owner",
            "Record owner",
        ],
        "team": ["所属团队", "团队", "部门团队", "Team"],
        "tags": ["标签", "Tags", "Tag", "Labels"],
        "notes": ["备注", "说明", "Notes", "Description", "Comments"],
        "description": ["描述", "说明", "备注", "Description"],
        "currency": ["币种", "货币", "Currency"],
    },
    "customer": {
        "name": [
            "客户名称",
            "公司名称",
            "企业名称",
            "单位名称",
            "客户",
            "公司",
            "名称",
            "Account Name",
            "Company name",
            "Company",
            "Customer",
            "Customer name",
            "Organization",
        ],
        "number": ["客户编号", "客户编码", "Customer number", "Account Number"],
        "phone": [
            "电话",
            "联系电话",
            "座机",
            "公司电话",
            "手机",
            "手机号",
            "手机号码",
            "Phone",
            "Phone Number",
            "Telephone",
        ],
        "email": ["邮箱", "电子邮件", "邮件", "电子邮箱", "Email", "E-mail", "Email Address"],
        "website": ["网址", "官网", "网站", "Website", "Website URL", "Company Domain Name", "Web"],
        "industry": ["行业", "所属行业", "Industry"],
        "city": ["城市", "所在城市", "市", "City", "Billing City"],
        "province": [
            "省份",
            "省",
            "省市",
            "State",
            "State/Region",
            "Billing State/Province",
            "Billing State",
            "Province",
        ],
        "district": ["区县", "区", "县", "District"],
        "street": [
            "地址",
            "详细地址",
            "街道地址",
            "Address",
            "Street",
            "Street Address",
            "Billing Street",
        ],
        "postal_code": [
            "邮编",
            "邮政编码",
            "Postal Code",
            "Zip",
            "Billing Zip/Postal Code",
            "Billing Code",
            "Zip Code",
        ],
        "country": ["国家", "国家/地区", "Country", "Country/Region", "Billing Country"],
        "source": ["客户来源", "来源", "Source", "Lead Source", "Account Source"],
        "kind": ["客户类型", "类型", "Type", "Account Type"],
        "size": ["规模", "公司规模", "人数规模", "Employees", "Number of Employees", "Size"],
        "grade": ["客户等级", "等级", "级别", "Rating", "Grade"],
        "stage": ["客户阶段", "阶段", "生命周期", "Lifecycle Stage"],
        "parent": ["上级公司", "母公司", "Parent Account", "Parent Company"],
        "credit_rating": ["信用等级", "信用评级", "Credit rating"],
        "notes": ["备注", "说明", "描述", "Description", "Notes"],
    },
    "contact": {
        "name": ["联系人", "姓名", "联系人姓名", "名字", "Full Name", "Contact Name", "Name"],
        "customer": [
            "客户",
            "客户名称",
            "公司",
            "公司名称",
            "所属客户",
            "单位",
            "Account Name",
            "Associated Company",
            "Company",
            "Company Name",
            "Account",
        ],
        "title": ["职位", "职务", "头衔", "Title", "Job Title"],
        "department": ["部门", "Department"],
        "mobile": ["手机", "手机号", "手机号码", "移动电话", "Mobile", "Mobile Phone", "Mobile Phone Number"],
        "phone": ["电话", "座机", "办公电话", "联系电话", "Phone", "Phone Number", "Business Phone", "Work Phone"],
        "email": ["邮箱", "电子邮件", "邮件", "电子邮箱", "Email", "E-mail", "Email Address"],
        "wechat": ["微信", "微信号", "WeChat"],
        "qq": ["QQ", "QQ号"],
        "birthday": ["生日", "出生日期", "Birthdate", "Birthday", "Date of Birth"],
        "is_primary": ["主要联系人", "首要联系人", "Primary", "Primary Contact"],
        "decision_role": ["决策角色", "角色", "Role"],
        "linkedin": ["领英", "LinkedIn"],
        "notes": ["备注", "说明", "Description", "Notes"],
    },
    "product": {
        "code": ["产品编码", "产品代码", "编码", "物料编码", "货号", "SKU", "Product Code", "Code"],
        "name": ["产品名称", "名称", "品名", "产品", "Product Name", "Product", "Name"],
        "unit": ["单位", "计量单位", "Unit"],
        "category": ["类别", "产品类别", "分类", "Category", "Product Category", "Product Family"],
        "tax_rate": ["税率", "税率（%）", "Tax Rate", "Tax"],
        "kind": ["类型", "产品类型", "Type"],
        "active": ["启用", "是否启用", "有效", "Active"],
    },
    "opportunity": {
        "name": ["商机名称", "机会名称", "项目名称", "商机", "Opportunity Name", "Deal Name", "Name"],
        "customer": ["客户", "客户名称", "公司名称", "Account Name", "Associated Company", "Company"],
        "contact": ["联系人", "Contact", "Contact Name"],
        "amount": ["金额", "商机金额", "预计金额", "Amount"],
        "stage": ["阶段", "销售阶段", "商机阶段", "Stage", "Deal Stage"],
        "pipeline": ["销售管道", "管道", "Pipeline"],
        "probability": ["赢单率", "赢单概率", "概率", "Probability", "Probability (%)"],
        "expected_close_date": ["预计成交日期", "预计签单日期", "成交日期", "Close Date", "Expected Close Date"],
        "source": ["来源", "商机来源", "Lead Source", "Source"],
        "next_step": ["下一步", "Next Step"],
    },
    "order": {
        "number": ["订单编号"],
        "customer": ["客户", "客户名称", "公司名称", "Account Name", "Company"],
        "order_date": ["下单日期", "订单日期", "日期", "Order Date"],
        "notes": ["备注", "Notes"],
    },
    "interaction": {
        "customer": ["客户", "客户名称", "公司名称", "Account Name", "Company"],
        "kind": ["跟进方式", "方式", "类型", "Type", "Activity Type"],
        "occurred_at": ["跟进时间", "跟进日期", "时间", "日期", "Date", "Activity Date"],
        "subject": ["主题", "标题", "Subject"],
        "content": ["跟进内容", "内容", "记录", "Content", "Comments"],
        "outcome": ["结果", "Outcome"],
        "next_step": ["下一步", "Next Step"],
        "duration_minutes": ["时长", "时长（分钟）", "Duration"],
        "direction": ["方向", "Direction"],
    },
    "task": {
        "title": ["任务", "标题", "Subject", "Task"],
        "due_at": ["截止时间", "截止日期", "Due Date", "Due"],
        "customer": ["客户", "客户名称", "Account Name"],
    },
    "contract": {
        "title": ["合同名称", "标题", "Contract Name"],
        "customer": ["客户", "客户名称", "Account Name"],
        "amount": ["合同金额", "金额", "Amount"],
        "signed_date": ["签订日期", "签约日期", "Signed Date"],
        "start_date": ["开始日期", "生效日期", "Start Date"],
        "end_date": ["结束日期", "到期日期", "End Date"],
    },
}


def _names(rt: RecordType) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """The names a column may carry for each importable field: its own (label, field name,
    English and Chinese verbose names, custom field key) and the synonyms."""
    own: dict[str, list[str]] = {}
    synonyms: dict[str, list[str]] = {}
    fields = importable_fields(rt)
    known = {item.name for item in fields}
    for item in fields:
        words = own.setdefault(item.name, [item.label, item.name])
        if item.name.startswith(CUSTOM_PREFIX):
            words.append(item.name.removeprefix(CUSTOM_PREFIX))
            continue
        for language in ("en", "zh-hans"):
            with translation.override(language):
                if item.name == TAGS:
                    words.append(str(_("tags")))
                elif item.name in rt.fields or item.name in rt.create_only or item.name == NUMBER:
                    words.append(str(rt.model_field(item.name).verbose_name))
    for table in (SYNONYMS.get(rt.key, {}), SYNONYMS["*"]):
        for name, words in table.items():
            if name in known:
                synonyms.setdefault(name, []).extend(words)
    if GIVEN_NAME in known:  # Salesforce, HubSpot and Chinese sheets split a person's name
        synonyms[GIVEN_NAME] = ["First Name", "Given Name", "名", "名字"]
        synonyms[FAMILY_NAME] = ["Last Name", "Surname", "Family Name", "姓", "姓氏"]
    return own, synonyms


def propose(rt: RecordType, headers: list[str]) -> dict[str, str]:
    """``{header: field name or ""}``: each header mapped to the field whose name, label or
    synonym it is once normalized (the fields' own names win over synonyms); a field is
    proposed once, for the first header that names it."""
    index: dict[str, str] = {}
    for table in _names(rt):
        for name, words in table.items():
            for word in words:
                key = normalize_header(word)
                if key and key not in index:
                    index[key] = name
    proposal: dict[str, str] = {}
    used: set[str] = set()
    for header in headers:
        name = index.get(normalize_header(header), "")
        if name and name in used:
            name = ""
        if name:
            used.add(name)
        proposal[header] = name
    return proposal


def saved_mappings_for(user: Any, record_type: str) -> Any:
    """The mappings ``user`` saved for ``record_type`` and those shared with everyone."""
    from kehu.dataio.imports.models import SavedMapping

    return SavedMapping.objects.filter(Q(created_by=user) | Q(shared=True), record_type=record_type).order_by(
        "name", "id"
    )


def best_saved_mapping(user: Any, record_type: str, headers: list[str]) -> Any:
    """The user's (or a shared) saved mapping whose columns are all in ``headers`` and that
    covers most of them; ``None`` when none fits."""
    present = set(headers)
    best, best_score = None, 0
    for saved in saved_mappings_for(user, record_type):
        columns = set(saved.mapping)
        if not columns or not columns <= present:
            continue
        score = len(columns) * 2 + (1 if saved.created_by_id == getattr(user, "pk", None) else 0)
        if score > best_score:
            best, best_score = saved, score
    return best
