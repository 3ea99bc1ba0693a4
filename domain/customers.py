"""Customers: registration, sign-in tokens, the address book and address validation.

Passwords are argon2id hashes (`domain.auth`), computed in a worker thread so a sign-in never
stalls other requests. Emails are normalised by `email-validator` and lower-cased before they
are stored or looked up, so the unique constraint on `customer.email` makes them unique
case-insensitively, whatever the number of server processes.
"""

import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Select, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.auth import hash_secret, off_the_loop, secret_matches, token_digest
from domain.customfields import validate_custom_fields
from domain.errors import DomainError, ErrorCode, raise_all
from domain.pagination import Page, PageRequest, SortKey, paginate
from domain.text import like_pattern
from domain.validation import apply_changes, flush_unique, require_text
from models.base import utcnow
from models.customers import Customer, CustomerAddress, CustomerToken

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 1024  # bounds the hashing work one request can ask for
NAME_MAX_LENGTH = 200

# --- addresses -------------------------------------------------------------------------

COUNTRY_CODES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
    DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
    GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
    KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
    MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
    PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
    SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
    VN VU WF WS YE YT ZA ZM ZW
    """.split()
)
"""Every officially assigned ISO 3166-1 alpha-2 code (249, as in tzdata's iso3166.tab)."""

ADDRESS_MAX_LENGTHS: dict[str, int] = {
    "first_name": 100,
    "last_name": 100,
    "company_name": 200,
    "phone_number": 40,
    "line1": 200,
    "line2": 200,
    "city": 100,
    "county": 100,
    "region": 100,
    "postcode": 20,
    "country": 2,
    "instructions": 500,
}
"""The address fields (snake_case, as `input_data` gives them) and their longest length."""

ADDRESS_FIELDS: tuple[str, ...] = tuple(ADDRESS_MAX_LENGTHS)
REQUIRED_ADDRESS_FIELDS = frozenset(
    {"first_name", "last_name", "line1", "city", "postcode", "country"}
)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _address_text(errors: list[DomainError], name: str, value: Any, field: list[str]) -> str | None:
    """One address field stripped (blank is None), with REQUIRED / INVALID errors."""
    if value is not None and not isinstance(value, str):
        errors.append(DomainError(ErrorCode.INVALID, f"{field[-1]} must be text", field))
        return None
    text = (value or "").strip()
    if not text:
        if name in REQUIRED_ADDRESS_FIELDS:
            errors.append(DomainError(ErrorCode.REQUIRED, f"{field[-1]} is required", field))
        return None
    if name == "country":
        text = text.upper()
        if text not in COUNTRY_CODES:
            message = f"country {text!r} is not an ISO 3166-1 alpha-2 code (e.g. US, GB, DE)"
            errors.append(DomainError(ErrorCode.INVALID, message, field))
    elif len(text) > ADDRESS_MAX_LENGTHS[name]:
        limit = ADDRESS_MAX_LENGTHS[name]
        errors.append(
            DomainError(ErrorCode.INVALID, f"{field[-1]} is longer than {limit} characters", field)
        )
    return text


def validate_address(data: Mapping[str, Any], path: Sequence[str]) -> dict[str, Any]:
    """An address (snake_case keys) checked and normalised: every field present, text
    stripped, blanks None, the country upper-cased. Raises every problem at once, each with
    its path, e.g. `["input", "billingAddress", "postcode"]`. Other keys are ignored."""
    errors: list[DomainError] = []
    clean = {
        name: _address_text(errors, name, data.get(name), [*path, _camel(name)])
        for name in ADDRESS_FIELDS
    }
    raise_all(errors)
    return clean


def address_dict(row: CustomerAddress) -> dict[str, Any]:
    """A saved address as the plain dict `validate_address` returns (e.g. to copy onto an order)."""
    return {name: getattr(row, name) for name in ADDRESS_FIELDS}


# --- lookups ---------------------------------------------------------------------------


async def get_customer(session: AsyncSession, pk: uuid.UUID) -> Customer | None:
    return await session.get(Customer, pk)


async def find_customer_by_email(session: AsyncSession, email: str) -> Customer | None:
    """The customer registered with `email` (any letter case), or None (also for a malformed one)."""
    try:
        key = normalise_email(email, [])
    except DomainError:
        return None
    return await session.scalar(select(Customer).where(Customer.email == key))


def customer_search(search: str | None) -> Select[Any]:
    """Customers whose name or email contains `search`, ignoring case (LIKE wildcards literal)."""
    stmt = select(Customer)
    term = (search or "").strip().lower()
    if term:
        stmt = stmt.where(
            or_(
                Customer.name.ilike(like_pattern(term), escape="\\"),  # type: ignore[attr-defined]
                Customer.email.ilike(like_pattern(term), escape="\\"),  # type: ignore[attr-defined]
            )
        )
    return stmt


async def customer_page(
    session: AsyncSession, search: str | None, request: PageRequest
) -> Page[Customer]:
    """Newest customers first, keyset paginated."""
    keys = [
        SortKey(Customer.created_at, lambda r: r.created_at),  # type: ignore[arg-type]
        SortKey(Customer.id, lambda r: r.id),  # type: ignore[arg-type]
    ]
    return await paginate(session, customer_search(search), keys, True, request)


async def addresses_by_customer(
    session: AsyncSession, customer_ids: Sequence[uuid.UUID]
) -> list[list[CustomerAddress]]:
    """Each customer's saved addresses, oldest first, in one query."""
    stmt = (
        select(CustomerAddress)
        .where(CustomerAddress.customer_id.in_(customer_ids))  # type: ignore[attr-defined]
        .order_by(CustomerAddress.created_at, CustomerAddress.id)
    )
    grouped: dict[uuid.UUID, list[CustomerAddress]] = {pk: [] for pk in customer_ids}
    for row in (await session.scalars(stmt)).all():
        grouped[row.customer_id].append(row)
    return [grouped[pk] for pk in customer_ids]


def target_customer(
    requested: uuid.UUID | None, is_admin: bool, signed_in: uuid.UUID | None, field: list[str]
) -> uuid.UUID:
    """Whose records a call acts on. Admins name any customer (or act for the signed-in one);
    a customer acts on themselves, and naming anyone else is NOT_FOUND (no hint it exists)."""
    if requested is not None:
        if is_admin or requested == signed_in:
            return requested
        raise DomainError(ErrorCode.NOT_FOUND, "no customer with that id", field)
    if signed_in is not None:
        return signed_in
    raise DomainError(
        ErrorCode.REQUIRED, f"{field[-1]} is required without a customer token", field
    )


# --- registration ----------------------------------------------------------------------


def normalise_email(value: str | None, field: list[str]) -> str:
    """The normalised, lower-cased email, or INVALID (syntax only: no DNS lookups)."""
    if value is None:
        raise DomainError(ErrorCode.REQUIRED, "email is required", field)
    try:
        checked = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise DomainError(ErrorCode.INVALID, f"email is not valid: {exc}", field) from exc
    return checked.normalized.lower()


def _check_password(errors: list[DomainError], password: str | None, field: list[str]) -> None:
    if password is None:
        errors.append(DomainError(ErrorCode.REQUIRED, "password is required", field))
    elif len(password) < PASSWORD_MIN_LENGTH:
        errors.append(
            DomainError(
                ErrorCode.INVALID,
                f"password must be at least {PASSWORD_MIN_LENGTH} characters",
                field,
            )
        )
    elif len(password) > PASSWORD_MAX_LENGTH:
        errors.append(
            DomainError(
                ErrorCode.INVALID,
                f"password must be at most {PASSWORD_MAX_LENGTH} characters",
                field,
            )
        )


def _collect(errors: list[DomainError], check: Any, *args: Any) -> Any:
    """Run a check that raises one DomainError, collecting it instead."""
    try:
        return check(*args)
    except DomainError as error:
        errors.append(error)
        return None


@dataclass(frozen=True, slots=True)
class CustomerChanges:
    """Validated customer fields (those given), the password already hashed."""

    fields: dict[str, Any]
    custom_fields: dict[str, Any] | None


async def prepare_customer(data: Mapping[str, Any], partial: bool) -> CustomerChanges:
    """Check email, name and password (every problem at once) and hash the password off the
    event loop. Custom fields are checked later, against the database's definitions."""
    errors: list[DomainError] = []
    fields: dict[str, Any] = {}
    if not partial or "email" in data:
        fields["email"] = _collect(errors, normalise_email, data.get("email"), ["input", "email"])
    if not partial or "name" in data:
        require_text(errors, data.get("name"), ["input", "name"], NAME_MAX_LENGTH)
        fields["name"] = (data.get("name") or "").strip()
    if not partial or "password" in data:
        _check_password(errors, data.get("password"), ["input", "password"])
    raise_all(errors)
    if data.get("password") is not None:
        fields["password_hash"] = await off_the_loop(hash_secret, data["password"])
    return CustomerChanges(fields, data.get("custom_fields"))


async def create_customer(session: AsyncSession, changes: CustomerChanges) -> Customer:
    """Insert a prepared registration; DUPLICATE when the email is taken (the unique
    constraint decides, so two racing registrations cannot both succeed)."""
    custom = await validate_custom_fields(session, "CUSTOMER", changes.custom_fields, None)
    customer = Customer(**changes.fields, custom_fields=custom)
    session.add(customer)
    await flush_unique(session, "that email", ["input", "email"])
    return customer


async def update_customer(
    session: AsyncSession, pk: uuid.UUID, changes: CustomerChanges, field: list[str]
) -> Customer:
    customer = await _get_or_404(session, pk, field)
    values = dict(changes.fields)
    if changes.custom_fields is not None:
        values["custom_fields"] = await validate_custom_fields(
            session, "CUSTOMER", changes.custom_fields, customer.custom_fields
        )
    apply_changes(customer, values)
    await flush_unique(session, "that email", ["input", "email"])
    return customer


async def _get_or_404(session: AsyncSession, pk: uuid.UUID, field: list[str]) -> Customer:
    customer = await session.get(Customer, pk)
    if customer is None:
        raise DomainError(ErrorCode.NOT_FOUND, "no customer with that id", field)
    return customer


# --- sign-in tokens --------------------------------------------------------------------


@cache
def _dummy_hash() -> str:
    return hash_secret(secrets.token_urlsafe(16))


def _password_matches(password_hash: str | None, password: str) -> bool:
    """Verify against the customer's hash, or a dummy one for an unknown email, so both
    failures take the same time."""
    matches = secret_matches(password_hash or _dummy_hash(), password)
    return matches and password_hash is not None


def _invalid_credentials() -> DomainError:
    return DomainError(ErrorCode.INVALID_CREDENTIALS, "the email or password is wrong", None)


async def authenticate(customer: Customer | None, password: str) -> Customer:
    """`customer` (found by the email given, None if none) if the password is theirs;
    INVALID_CREDENTIALS, identical whether the email is unknown or the password wrong. Call
    with no transaction open: the hash check takes 0.1-0.4 s."""
    stored = customer.password_hash if customer is not None else None
    if len(password) > PASSWORD_MAX_LENGTH:
        stored = None  # never hash unbounded input; still pay the dummy hash's time
        password = password[:PASSWORD_MAX_LENGTH]
    if not await off_the_loop(_password_matches, stored, password) or customer is None:
        raise _invalid_credentials()
    return customer


def needs_current_password(data: Mapping[str, Any], by_admin: bool) -> bool:
    """A customer changing their own email or password must give their current password
    (a stolen sign-in token alone cannot take the account over); admins need not."""
    return not by_admin and bool({"email", "password"} & data.keys())


async def check_current_password(customer: Customer, data: Mapping[str, Any]) -> None:
    """INVALID_CREDENTIALS unless `currentPassword` is the customer's (call with no
    transaction open)."""
    password = data.get("current_password")
    stored = customer.password_hash
    given = (password or "")[:PASSWORD_MAX_LENGTH]
    if not password or not await off_the_loop(_password_matches, stored, given):
        raise DomainError(
            ErrorCode.INVALID_CREDENTIALS,
            "currentPassword is wrong",
            ["input", "currentPassword"],
        )


async def issue_token(
    session: AsyncSession, customer_id: uuid.UUID, ttl_seconds: int
) -> tuple[str, datetime]:
    """A new random sign-in token (only its SHA-256 is stored) and its expiry; the
    customer's expired tokens are swept on the way."""
    token = secrets.token_urlsafe(32)
    expires_at = (utcnow() + timedelta(seconds=ttl_seconds)).replace(microsecond=0)
    await session.execute(
        delete(CustomerToken).where(
            CustomerToken.customer_id == customer_id,  # type: ignore[arg-type]
            CustomerToken.expires_at <= utcnow(),  # type: ignore[arg-type]
        )
    )
    session.add(
        CustomerToken(
            token_hash=token_digest(token), customer_id=customer_id, expires_at=expires_at
        )
    )
    await session.flush()
    return token, expires_at


async def revoke_token(session: AsyncSession, token: str) -> bool:
    """Forget a sign-in token (sign out); True when it existed."""
    result = await session.execute(
        delete(CustomerToken).where(CustomerToken.token_hash == token_digest(token))  # type: ignore[arg-type]
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def revoke_other_tokens(session: AsyncSession, customer_id: uuid.UUID, keep: str) -> None:
    """Sign the customer out everywhere but the session `keep` (after a password change)."""
    await session.execute(
        delete(CustomerToken).where(
            CustomerToken.customer_id == customer_id,  # type: ignore[arg-type]
            CustomerToken.token_hash != token_digest(keep),  # type: ignore[arg-type]
        )
    )


async def verify_customer_token(session: AsyncSession, token: str) -> uuid.UUID | None:
    """The customer id of a live customer token, or None for an unknown or expired one."""
    row = await session.get(CustomerToken, token_digest(token))
    if row is None or row.expires_at <= utcnow():
        return None
    return row.customer_id


# --- the address book ------------------------------------------------------------------


async def _owned_address(
    session: AsyncSession, pk: uuid.UUID, owner: uuid.UUID | None
) -> CustomerAddress:
    """The address `pk`, locked for the change; NOT_FOUND when missing or (for `owner`)
    another customer's."""
    row = await session.get(CustomerAddress, pk, with_for_update=True)
    if row is None or (owner is not None and row.customer_id != owner):
        raise DomainError(ErrorCode.NOT_FOUND, "no address with that id", ["id"])
    return row


async def create_address(
    session: AsyncSession, customer_id: uuid.UUID, data: Mapping[str, Any]
) -> CustomerAddress:
    clean = validate_address(data, ["input"])
    await _get_or_404(session, customer_id, ["customerId"])
    row = CustomerAddress(customer_id=customer_id, **clean)
    session.add(row)
    await session.flush()
    return row


async def update_address(
    session: AsyncSession, pk: uuid.UUID, owner: uuid.UUID | None, data: Mapping[str, Any]
) -> CustomerAddress:
    """Change the fields given; the result must still be a complete, valid address."""
    row = await _owned_address(session, pk, owner)
    clean = validate_address({**address_dict(row), **data}, ["input"])
    apply_changes(row, clean)
    await session.flush()
    return row


async def delete_address(
    session: AsyncSession, pk: uuid.UUID, owner: uuid.UUID | None
) -> CustomerAddress:
    row = await _owned_address(session, pk, owner)
    await session.delete(row)
    await session.flush()
    return row


async def visible_address(
    session: AsyncSession, pk: uuid.UUID, owner: uuid.UUID | None
) -> CustomerAddress | None:
    """The address for an admin (owner None) or its own customer; None otherwise."""
    row = await session.get(CustomerAddress, pk)
    return row if row is not None and (owner is None or row.customer_id == owner) else None
