"""Contract attachments: the size is checked before the file is read, the content type from
the file's first bytes (``puremagic``), never from its name or the browser's word for it."""

from __future__ import annotations

import re
import uuid
from pathlib import PurePath
from typing import Any

import puremagic
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MAX_SIZE = 20 * 1024 * 1024  # 20 MB

# extension puremagic reports → the content type we store and serve
ALLOWED: dict[str, str] = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".doc": "application/msword",
    ".xls": "application/vnd.ms-excel",
    ".txt": "text/plain",
}
ALLOWED_LABEL = "PDF, PNG, JPEG, DOCX, XLSX, DOC, XLS, TXT"
OLE_TYPES = {".doc", ".xls"}  # the same compound-file signature: the name tells which
ZIP_TYPES = {".docx", ".xlsx"}  # zip packages: the name (and puremagic's deeper look) tells which
HEAD_BYTES = 8192


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # a character cut at the end of the sample is fine
            return False
    return True


def check(upload: Any) -> str:
    """The content type of an allowed upload; raises ValidationError naming the limit or the
    allowed types."""
    size = getattr(upload, "size", None)
    if size is None or size > MAX_SIZE:
        raise ValidationError(
            {
                "file": _("The file is %(size)s MB; attachments may be at most %(max)d MB.")
                % {"size": f"{(size or 0) / 1024 / 1024:.1f}", "max": MAX_SIZE // 1024 // 1024}
            }
        )
    if size == 0:
        raise ValidationError({"file": _("The file is empty.")})
    upload.seek(0)
    head = upload.read(HEAD_BYTES)
    upload.seek(0)
    suffix = PurePath(getattr(upload, "name", "") or "").suffix.lower()
    found = _detect(head, suffix)
    if found is None:
        raise ValidationError(
            {"file": _("This type of file cannot be attached. Allowed: %(types)s.") % {"types": ALLOWED_LABEL}}
        )
    return ALLOWED[found]


def _detect(head: bytes, suffix: str) -> str | None:
    try:
        matches = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        matches = []
    extensions = [match.extension.lower() for match in matches if match.extension]
    if ".pdf" in extensions[:3] and head.startswith(b"%PDF"):
        return ".pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return ".png"
    if head.startswith(b"\xff\xd8\xff"):
        return ".jpg"
    if head.startswith(b"PK\x03\x04") and suffix in ZIP_TYPES:
        return suffix  # an Office Open XML package (a zip) named .docx / .xlsx
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") and suffix in OLE_TYPES:
        return suffix  # an old Office compound file named .doc / .xls
    if not extensions and suffix == ".txt" and _is_text(head):
        return ".txt"
    return None


def clean_name(name: str) -> str:
    """The file name as shown (its last path part, no control characters, at most 255)."""
    base = PurePath(str(name or "file").replace("\\", "/")).name
    base = re.sub(r"[\x00-\x1f\x7f]", "", base).strip() or "file"
    return base[-255:]


def stored_name(name: str) -> str:
    """A name for the storage that cannot collide or walk out of the folder."""
    suffix = PurePath(clean_name(name)).suffix.lower()
    safe = suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else ""
    return f"{uuid.uuid4().hex}{safe}"
