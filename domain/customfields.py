"""Custom fields (Moltin's "flows"): typed fields an admin defines for products, orders or
customers, and the check of the values a client sends (`validate_custom_fields`)."""

import math
import re
import uuid
from collections.abc import Mapping
from datetime import date
from enum import Enum
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import DomainError, ErrorCode, raise_all
from models.base import utcnow
from models.catalog import FieldDefinition

FIELD_SLUG = re.compile(r"^[a-z][a-z0-9_]{0,63}\Z")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")
MAX_STRING = 10_000
MAX_CHOICES = 200


class CustomFieldEntity(Enum):
    PRODUCT = "PRODUCT"
    ORDER = "ORDER"
    CUSTOMER = "CUSTOMER"


class CustomFieldType(Enum):
    STRING = "STRING"
    INTEGER = "INTEGER"
    FLOAT = "FLOAT"
    BOOLEAN = "BOOLEAN"
    DATE = "DATE"
    CHOICE = "CHOICE"


# --- values ----------------------------------------------------------------------------


def _is_date(value: Any) -> bool:
    if not isinstance(value, str) or not ISO_DATE.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def type_problem(definition: FieldDefinition, value: Any) -> str | None:
    """Why `value` does not fit the definition's type, or None when it does."""
    kind = CustomFieldType(definition.type)
    if kind is CustomFieldType.STRING:
        if not isinstance(value, str):
            return "must be a string"
        return f"is longer than {MAX_STRING} characters" if len(value) > MAX_STRING else None
    if kind is CustomFieldType.INTEGER:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else "must be an integer"
    if kind is CustomFieldType.FLOAT:
        number = isinstance(value, int | float) and not isinstance(value, bool)
        return None if number and math.isfinite(value) else "must be a number"
    if kind is CustomFieldType.BOOLEAN:
        return None if isinstance(value, bool) else "must be true or false"
    if kind is CustomFieldType.DATE:
        return None if _is_date(value) else "must be a date as YYYY-MM-DD"
    if value not in definition.choices or not isinstance(value, str):
        return "must be one of " + ", ".join(repr(c) for c in definition.choices)
    return None


async def definitions_of(session: AsyncSession, entity: str) -> dict[str, FieldDefinition]:
    rows = (
        await session.scalars(
            select(FieldDefinition)
            .where(FieldDefinition.entity == entity)
            .order_by(FieldDefinition.slug)
        )
    ).all()
    return {row.slug: row for row in rows}


async def validate_custom_fields(
    session: AsyncSession,
    entity: str | CustomFieldEntity,
    values: Mapping[str, Any] | None,
    existing: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The custom fields to store for an entity: `existing` (on update) merged with the
    client's `values`, where a null value removes a field. Raises every problem at once, each
    naming its key (field path `["input", "customFields", key]`): an unknown key or a wrong type
    (INVALID), a required field missing from the result (REQUIRED). Keys whose definition was
    deleted drop out of the result."""
    entity = entity.value if isinstance(entity, CustomFieldEntity) else entity
    return check_custom_fields(await definitions_of(session, entity), values, existing)


def check_custom_fields(
    definitions: Mapping[str, FieldDefinition],
    values: Mapping[str, Any] | None,
    existing: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """`validate_custom_fields` against definitions already loaded (bulk inputs share them)."""
    root = ["input", "customFields"]
    if values is not None and not isinstance(values, Mapping):
        raise DomainError(ErrorCode.INVALID, "customFields must be a JSON object", root)
    merged = {k: v for k, v in (existing or {}).items() if k in definitions}
    errors: list[DomainError] = []
    for key, value in (values or {}).items():
        definition = definitions.get(key)
        if definition is None:
            message = f"unknown custom field {key!r}: define it with fieldDefinitionCreate"
            errors.append(DomainError(ErrorCode.INVALID, message, [*root, key]))
        elif value is None:
            merged.pop(key, None)
        elif problem := type_problem(definition, value):
            errors.append(
                DomainError(ErrorCode.INVALID, f"custom field {key!r} {problem}", [*root, key])
            )
        else:
            merged[key] = value
    failed = {e.field[-1] for e in errors if e.field}
    for slug, definition in definitions.items():
        if definition.required and merged.get(slug) is None and slug not in failed:
            message = f"custom field {slug!r} ({definition.name}) is required"
            errors.append(DomainError(ErrorCode.REQUIRED, message, [*root, slug]))
    raise_all(errors)
    return merged


# --- definitions -----------------------------------------------------------------------


def _clean_choices(
    errors: list[DomainError], kind: CustomFieldType | None, choices: Any
) -> list[str]:
    field = ["input", "choices"]
    choices = list(choices or [])
    if kind is CustomFieldType.CHOICE:
        if not choices:
            errors.append(DomainError(ErrorCode.REQUIRED, "a CHOICE field needs choices", field))
        elif len(set(choices)) != len(choices) or not all(c.strip() for c in choices):
            errors.append(
                DomainError(ErrorCode.INVALID, "choices must be distinct and non-empty", field)
            )
        elif len(choices) > MAX_CHOICES or any(len(c) > 200 for c in choices):
            message = f"at most {MAX_CHOICES} choices of at most 200 characters"
            errors.append(DomainError(ErrorCode.INVALID, message, field))
    elif choices:
        errors.append(DomainError(ErrorCode.INVALID, "only CHOICE fields have choices", field))
    return choices


def _clean_definition(data: Mapping[str, Any], current: FieldDefinition | None) -> dict[str, Any]:
    """Fields of a definition. Its entity, slug and type are fixed once made: stored values
    depend on them (delete the definition and make a new one instead)."""
    errors: list[DomainError] = []
    clean: dict[str, Any] = {}
    for key in ("entity", "type"):
        value = data.get(key)
        value = value.value if isinstance(value, Enum) else value
        if current is None:
            if value is None:
                errors.append(DomainError(ErrorCode.REQUIRED, f"{key} is required", ["input", key]))
            clean[key] = value
        elif key in data and value != getattr(current, key):
            message = f"{key} cannot be changed; delete the field and define a new one"
            errors.append(DomainError(ErrorCode.INVALID, message, ["input", key]))
    if current is None or "slug" in data:
        slug = (data.get("slug") or "").strip()
        if not slug:
            errors.append(DomainError(ErrorCode.REQUIRED, "slug is required", ["input", "slug"]))
        elif not FIELD_SLUG.match(slug):
            message = "slug must be a lowercase letter then letters, digits or _ (at most 64)"
            errors.append(DomainError(ErrorCode.INVALID, message, ["input", "slug"]))
        elif current is not None and slug != current.slug:
            message = "slug cannot be changed; delete the field and define a new one"
            errors.append(DomainError(ErrorCode.INVALID, message, ["input", "slug"]))
        clean["slug"] = slug
    if current is None or "name" in data:
        name = (data.get("name") or "").strip()
        if not name or len(name) > 200:
            code = ErrorCode.REQUIRED if not name else ErrorCode.INVALID
            errors.append(DomainError(code, "name is required (at most 200)", ["input", "name"]))
        clean["name"] = name
    if "description" in data:
        clean["description"] = data.get("description") or ""
    if "required" in data:
        clean["required"] = bool(data["required"])
    kind_value = clean.get("type") or (current.type if current else None)
    kind = CustomFieldType(kind_value) if kind_value else None
    if current is None or "choices" in data:
        clean["choices"] = _clean_choices(errors, kind, data.get("choices"))
    raise_all(errors)
    return clean


async def create_definition(session: AsyncSession, data: Mapping[str, Any]) -> FieldDefinition:
    clean = _clean_definition(data, None)
    taken = await session.scalar(
        select(FieldDefinition.id).where(
            FieldDefinition.entity == clean["entity"], FieldDefinition.slug == clean["slug"]
        )
    )
    if taken is not None:
        message = f"{clean['entity']} already has a field {clean['slug']!r}"
        raise DomainError(ErrorCode.DUPLICATE, message, ["input", "slug"])
    definition = FieldDefinition(**clean)
    session.add(definition)
    try:
        await session.flush()
    except IntegrityError as exc:  # defined concurrently: the unique index decides
        message = f"{clean['entity']} already has a field {clean['slug']!r}"
        raise DomainError(ErrorCode.DUPLICATE, message, ["input", "slug"]) from exc
    return definition


async def _get(session: AsyncSession, pk: uuid.UUID) -> FieldDefinition:
    definition = await session.get(FieldDefinition, pk)
    if definition is None:
        raise DomainError(ErrorCode.NOT_FOUND, "no FieldDefinition with that id", ["id"])
    return definition


async def update_definition(
    session: AsyncSession, pk: uuid.UUID, data: Mapping[str, Any]
) -> FieldDefinition:
    """Change a definition's name, description, required flag or choices. Values stored before
    keep their old shape until their entity is next written."""
    definition = await _get(session, pk)
    for key, value in _clean_definition(data, definition).items():
        setattr(definition, key, value)
    definition.updated_at = utcnow()
    await session.flush()
    return definition


async def delete_definition(session: AsyncSession, pk: uuid.UUID) -> FieldDefinition:
    """Delete a definition. Its values vanish from every read at once and from storage at the
    entity's next write."""
    definition = await _get(session, pk)
    await session.delete(definition)
    await session.flush()
    return definition
