"""Contacts as vCards: written as vCard 3.0 (what phones, Outlook and macOS Contacts read), read
from vCard 2.1, 3.0 and 4.0 files in UTF-8 or GB18030, including the quoted-printable names that
old phones write (``N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E5=BC=A0;…``, with soft line
breaks), which vobject cannot parse alone."""

from __future__ import annotations

import datetime
import quopri
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import vobject
from django.utils.translation import gettext as _

from kehu.platform.phones import format_phone

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# Chinese family names of two characters (the first character is the family name otherwise).
COMPOUND_SURNAMES = frozenset(
    [
        "欧阳",
        "司马",
        "诸葛",
        "上官",
        "东方",
        "皇甫",
        "尉迟",
        "公孙",
        "慕容",
        "长孙",
        "宇文",
        "司徒",
        "令狐",
        "夏侯",
        "端木",
    ]
)
WECHAT_SERVICE = re.compile(r"^(wechat|weixin|wx)$", re.IGNORECASE)

# ---------------------------------------------------------------- writing


def _has_cjk(text: str) -> bool:
    return bool(CJK.search(text))


def split_name(name: str) -> tuple[str, str]:
    """(family, given) for the N property: a Chinese name's first character is the family name
    (two for the common compound surnames); a Western name's last word is."""
    name = name.strip()
    if _has_cjk(name) and " " not in name:
        size = 2 if len(name) > 2 and name[:2] in COMPOUND_SURNAMES else 1
        return name[:size], name[size:]
    parts = name.rsplit(" ", 1)
    return (parts[1], parts[0]) if len(parts) == 2 else (name, "")


def contact_vcard(contact: Any) -> str:
    """One contact as a vCard 3.0 text (CRLF line ends, folded by vobject)."""
    card = vobject.vCard()
    card.add("fn").value = contact.name
    family, given = split_name(contact.name)
    card.add("n").value = vobject.vcard.Name(family=family, given=given)
    customer = getattr(contact, "customer", None)
    if customer is not None:
        org = card.add("org")
        org.value = [customer.name, contact.department] if contact.department else [customer.name]
    if contact.title:
        card.add("title").value = contact.title
    if contact.decision_role:
        card.add("role").value = str(contact.get_decision_role_display())
    for attr, kinds in (("mobile", ["CELL"]), ("phone", ["WORK", "VOICE"])):
        value = getattr(contact, attr)
        if value:
            tel = card.add("tel")
            tel.value = format_phone(value)
            tel.params["TYPE"] = kinds
    if contact.email:
        email = card.add("email")
        email.value = contact.email
        email.type_param = "INTERNET"
    if contact.wechat:
        card.add("x-wechat").value = contact.wechat
        impp = card.add("impp")
        impp.value = f"x-apple:{contact.wechat}"
        impp.params["X-SERVICE-TYPE"] = ["WeChat"]
    if contact.birthday:
        card.add("bday").value = contact.birthday.isoformat()
    if contact.notes:
        card.add("note").value = contact.notes
    card.add("uid").value = f"kehu-{contact.number}"
    return str(card.serialize())


def vcards(contacts: Iterable[Any]) -> Iterator[str]:
    for contact in contacts:
        yield contact_vcard(contact)


# ---------------------------------------------------------------- reading


class VCardError(ValueError):
    """The file is not a vCard file that can be read (nothing was imported)."""


@dataclass
class Card:
    """What a vCard says about a person, in the contact's terms."""

    index: int  # 1-based position in the file
    name: str = ""
    org: str = ""
    department: str = ""
    title: str = ""
    role: str = ""
    mobile: str = ""
    phone: str = ""
    email: str = ""
    wechat: str = ""
    birthday: datetime.date | None = None
    notes: str = ""
    problems: list[str] = field(default_factory=list)


def decode_bytes(data: bytes) -> str:
    """The file's text: UTF-8 (with or without a BOM), UTF-16 with a BOM, else GB18030 (which
    Chinese phones and Outlook write). Raises VCardError when it is none of them."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise VCardError(_("The file is neither UTF-8 nor GB18030 text."))


_QP_LINE = re.compile(r"^([^:;]+)((?:;[^:]*)?):(.*)$", re.DOTALL)


def _unfold_quoted_printable(text: str) -> str:
    """Decode the quoted-printable properties of vCard 2.1 (joining their soft line breaks) into
    plain properties vobject reads."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        match = _QP_LINE.match(line)
        if not match or "QUOTED-PRINTABLE" not in match.group(2).upper():
            out.append(line)
            continue
        name, params, value = match.groups()
        while value.endswith("=") and i < len(lines):  # a soft line break
            value = value[:-1] + lines[i].lstrip()
            i += 1
        charset = "utf-8"
        kept = []
        for param in params.split(";")[1:]:
            key, _sep, param_value = param.partition("=")
            if key.upper() == "CHARSET":
                charset = param_value or charset
            elif key.upper() == "ENCODING" or param.upper() == "QUOTED-PRINTABLE":
                continue
            else:
                kept.append(param)
        raw = quopri.decodestring(value.encode("ascii", "replace"))
        try:
            decoded = raw.decode(charset)
        except (LookupError, UnicodeDecodeError):
            decoded = raw.decode("gb18030", "replace")
        decoded = decoded.replace("\r\n", "\\n").replace("\n", "\\n")
        out.append(";".join([name, *kept]) + ":" + decoded)
    return "\r\n".join(out)


def _types(line: Any) -> set[str]:
    """The TYPE parameters of a property, in upper case; vCard 2.1 writes them bare
    (``TEL;CELL;VOICE``), which vobject keeps as ``singletonparams``."""
    kinds = {str(value).upper() for value in getattr(line, "singletonparams", [])}
    for key, values in line.params.items():
        if key.upper() == "TYPE":
            for value in values:
                kinds.update(part.strip().upper() for part in str(value).split(","))
    return kinds


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ";".join(str(v) for v in value if v).strip()
    return str(value or "").strip()


def _birthday(value: str) -> datetime.date | None:
    value = value.strip()
    for pattern in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return datetime.datetime.strptime(value[:10] if "-" in value else value[:8], pattern).date()
        except ValueError:
            continue
    return None  # no year (--0102) or not a date: left out


def _card(index: int, component: Any) -> Card:
    card = Card(index=index)
    contents = component.contents
    if "fn" in contents:
        card.name = _text(contents["fn"][0].value)
    if not card.name and "n" in contents:
        n = contents["n"][0].value
        family, given = _text(getattr(n, "family", "")), _text(getattr(n, "given", ""))
        card.name = family + given if _has_cjk(family + given) else " ".join(p for p in (given, family) if p)
    if "org" in contents:
        org = contents["org"][0].value
        parts = org if isinstance(org, list) else [org]
        card.org = str(parts[0]).strip() if parts else ""
        card.department = str(parts[1]).strip() if len(parts) > 1 else ""
    if "title" in contents:
        card.title = _text(contents["title"][0].value)
    if "role" in contents:
        card.role = _text(contents["role"][0].value)
    for tel in contents.get("tel", []):
        number = _text(tel.value).removeprefix("tel:")
        if not number:
            continue
        kinds = _types(tel)
        if ("CELL" in kinds or "MOBILE" in kinds) and not card.mobile:
            card.mobile = number
        elif not card.phone and "FAX" not in kinds:
            card.phone = number
        elif not card.mobile and "FAX" not in kinds:
            card.mobile = number
    for email in contents.get("email", []):
        if _text(email.value):
            card.email = _text(email.value).removeprefix("mailto:")
            break
    for key in ("x-wechat", "x-weixin"):
        if key in contents and not card.wechat:
            card.wechat = _text(contents[key][0].value)
    for impp in contents.get("impp", []):
        service = " ".join(str(v) for v in impp.params.get("X-SERVICE-TYPE", []))
        scheme, _sep, handle = _text(impp.value).partition(":")
        if not card.wechat and (WECHAT_SERVICE.match(service.strip()) or WECHAT_SERVICE.match(scheme)):
            card.wechat = handle or scheme
    if "bday" in contents:
        card.birthday = _birthday(_text(contents["bday"][0].value))
    if "note" in contents:
        card.notes = _text(contents["note"][0].value)
    return card


def parse_vcards(data: bytes) -> list[Card]:
    """Every card of a vCard file, in order. Raises VCardError when the file cannot be read
    or holds no card."""
    text = decode_bytes(data).lstrip("\ufeff")
    if "BEGIN:VCARD" not in text.upper():
        raise VCardError(_("The file holds no vCard (no BEGIN:VCARD line)."))
    text = _unfold_quoted_printable(text)
    cards: list[Card] = []
    try:
        for component in vobject.readComponents(text):
            if component.name.upper() != "VCARD":
                continue
            cards.append(_card(len(cards) + 1, component))
    except Exception as error:  # vobject raises ParseError and others for broken files
        raise VCardError(
            _("The file is not a valid vCard file (card %(index)s): %(error)s")
            % {"index": len(cards) + 1, "error": error}
        ) from None
    if not cards:
        raise VCardError(_("The file holds no vCard."))
    return cards
