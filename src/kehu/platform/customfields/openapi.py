"""The custom-field part of the OpenAPI document, generated when the document is requested, so
a field appears in ``/api/v1/openapi.json`` as soon as an admin adds it."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from kehu.platform.customfields.definitions import Kind, definitions
from kehu.platform.customfields.filters import describe_filter, filter_names
from kehu.platform.customfields.values import (
    DECIMAL_INTEGER_DIGITS,
    DECIMAL_PLACES,
    INTEGER_MAX,
    LONG_TEXT_MAX,
    TEXT_MAX,
    URL_MAX,
    choice_values,
    default_currency,
)
from kehu.platform.models import CustomField

DECIMAL_PATTERN = rf"^-?\d{{1,{DECIMAL_INTEGER_DIGITS}}}(\.\d{{1,{DECIMAL_PLACES}}})?$"


def _decimal(write: bool) -> dict[str, Any]:
    text = {"type": "string", "format": "decimal", "pattern": DECIMAL_PATTERN}
    return {"anyOf": [text, {"type": "number"}]} if write else text


def value_schema(definition: CustomField, *, write: bool) -> dict[str, Any]:
    """The JSON Schema of one field's value (``write``: what a client may send, which for some
    kinds is more than what it gets back)."""
    kind = definition.kind
    schema: dict[str, Any]
    if kind == Kind.TEXT:
        schema = {"type": "string", "maxLength": TEXT_MAX}
    elif kind == Kind.LONG_TEXT:
        schema = {"type": "string", "maxLength": LONG_TEXT_MAX}
    elif kind == Kind.INTEGER:
        schema = {"type": "integer", "minimum": -INTEGER_MAX, "maximum": INTEGER_MAX}
    elif kind == Kind.DECIMAL:
        schema = _decimal(write)
    elif kind == Kind.MONEY:
        schema = {
            "type": "object",
            "properties": {
                "amount": _decimal(write),
                "currency": {"type": "string", "pattern": "^[A-Z]{3}$", "description": _("ISO 4217 code")},
            },
            "required": ["amount"] if write else ["amount", "currency"],
            "additionalProperties": False,
        }
    elif kind == Kind.DATE:
        schema = {"type": "string", "format": "date"}
    elif kind == Kind.DATETIME:
        schema = {"type": "string", "format": "date-time"}
    elif kind == Kind.BOOLEAN:
        schema = {"type": "boolean"}
    elif kind == Kind.CHOICE:
        schema = {"type": "string", "enum": choice_values(definition)}
    elif kind == Kind.MULTI_CHOICE:
        schema = {"type": "array", "items": {"type": "string", "enum": choice_values(definition)}, "uniqueItems": True}
    elif kind == Kind.URL:
        schema = {"type": "string", "format": "uri", "maxLength": URL_MAX}
    elif kind == Kind.EMAIL:
        schema = {"type": "string", "format": "email"}
    elif kind == Kind.PHONE:
        schema = {"type": "string"}
    else:  # user, link
        schema = {"type": "integer", "minimum": 1}
    return schema


def _kind_note(definition: CustomField) -> str:
    kind = definition.kind
    if kind == Kind.MONEY:
        return _("Money; the currency defaults to %(currency)s.") % {"currency": default_currency()}
    if kind == Kind.DATETIME:
        return _("With a time zone; answered in UTC.")
    if kind == Kind.PHONE:
        return _("Phone number, answered in E.164 form (+8613812345678).")
    if kind == Kind.USER:
        return _("Id of an active user.")
    if kind == Kind.LINK:
        from kehu.platform.records import registry

        target = registry.get(definition.target)
        label = target.label if target is not None else definition.target
        return _("Id of a %(type)s you can see.") % {"type": label}
    if kind == Kind.MULTI_CHOICE:
        return _("One or more of the listed values.")
    return str(CustomField.Kind(kind).label) if kind in CustomField.Kind.values else ""


def field_schema(definition: CustomField, *, write: bool) -> dict[str, Any]:
    description = " ".join(part for part in (definition.help_text, _kind_note(definition)) if part)
    if definition.required:
        description = f"{description} {_('Required.')}".strip()
    return {
        "anyOf": [value_schema(definition, write=write), {"type": "null"}],
        "title": definition.label,
        "description": description,
        "x-kehu-kind": definition.kind,
        **({"x-kehu-section": definition.section} if definition.section else {}),
    }


def custom_schema(found: list[CustomField], mode: str) -> dict[str, Any]:
    """The ``custom`` object of a record type in the ``out``, ``create`` or ``patch`` schema."""
    write = mode != "out"
    schema: dict[str, Any] = {
        "type": "object",
        "title": _("Custom fields"),
        "properties": {definition.name: field_schema(definition, write=write) for definition in found},
        # Answers also carry values kept from fields that are no longer in use.
        "additionalProperties": not write,
    }
    if mode == "out":
        schema["description"] = _("The values of the custom fields an admin added, by key.")
    elif mode == "create":
        required = [d.name for d in found if d.required and d.default is None]
        if required:
            schema["required"] = required
        schema["description"] = _("Custom field values by key; a field left out gets its default.")
    else:
        schema["description"] = _("The custom field values to change; null clears one.")
    return schema


def patch_schema(schema: dict[str, Any], record_types: Any) -> dict[str, Any]:
    """Describe each record type's active custom fields in ``schema`` (the generated OpenAPI
    document): the ``custom`` property of its Out, Create and Patch components, and the
    ``cf_…`` filters of its list operation."""
    components = schema.get("components", {}).get("schemas", {})
    paths = schema.get("paths", {})
    for rt in record_types:
        found = definitions(rt.key)
        name = rt.model.__name__
        for suffix, mode in (("Out", "out"), ("Create", "create"), ("Patch", "patch")):
            component = components.get(f"{name}{suffix}")
            if component is None or "custom" not in component.get("properties", {}):
                continue
            custom = custom_schema(found, mode)
            component["properties"]["custom"] = custom if mode == "out" else {"anyOf": [custom, {"type": "null"}]}
            if mode == "create" and custom.get("required"):
                component["properties"]["custom"] = custom
                component.setdefault("required", [])
                if "custom" not in component["required"]:
                    component["required"].append("custom")
        listing = next(
            (operations.get("get") for path, operations in paths.items() if path.endswith(f"/{rt.plural}/")), None
        )
        if listing is None:
            continue
        parameters = [p for p in listing.setdefault("parameters", []) if not p["name"].startswith("cf_")]
        for param, (definition, mode) in filter_names(rt).items():
            parameters.append(
                {
                    "in": "query",
                    "name": param,
                    "required": False,
                    "schema": _filter_schema(definition, mode),
                    "description": describe_filter(definition, mode),
                }
            )
        listing["parameters"] = parameters
    return schema


def _filter_schema(definition: CustomField, mode: str) -> dict[str, Any]:
    kind = definition.kind
    if mode != "eq":
        if kind in (Kind.DATE, Kind.DATETIME):
            return {"type": "string", "format": "date"}
        return {"type": "integer"} if kind == Kind.INTEGER else {"type": "string", "format": "decimal"}
    if kind in (Kind.CHOICE, Kind.MULTI_CHOICE):
        return {"type": "string", "enum": choice_values(definition)}
    if kind == Kind.BOOLEAN:
        return {"type": "boolean"}
    if kind in (Kind.USER, Kind.LINK):
        return {"type": "integer"}
    return {"type": "string"}
