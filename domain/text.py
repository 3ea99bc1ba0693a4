"""Rules for text from clients that several areas share.

- Identifiers people type and machines compare (SKUs; slugs and references have their own
  ASCII patterns) are visible characters only: a zero-width space or a right-to-left
  override makes two SKUs that look the same differ, and one that looks harmless read
  otherwise.
- Search terms are bounded and matched literally (LIKE wildcards escaped): SQLite refuses a
  LIKE pattern over 50,000 bytes ("LIKE or GLOB pattern too complex"), and no search box
  needs more than a few words.
"""

from domain.errors import DomainError, ErrorCode

MAX_SKU = 120
SKU_RULE = "may not contain spaces, control characters or invisible characters"


def visible_identifier(text: str) -> bool:
    """No whitespace, no control, format (zero-width, bidirectional), surrogate, private-use
    or unassigned characters: `str.isprintable` refuses every whitespace character (they are
    all control characters or separators) but the ASCII space."""
    return text.isprintable() and " " not in text


def clean_sku(errors: list[DomainError], value: str | None, field: list[str]) -> str:
    """A required SKU, stripped; errors name `field`."""
    sku = (value or "").strip()
    if not sku:
        errors.append(DomainError(ErrorCode.REQUIRED, f"{field[-1]} is required", field))
    elif len(sku) > MAX_SKU:
        message = f"{field[-1]} is longer than {MAX_SKU} characters"
        errors.append(DomainError(ErrorCode.INVALID, message, field))
    elif not visible_identifier(sku):
        errors.append(DomainError(ErrorCode.INVALID, f"{field[-1]} {SKU_RULE}", field))
    return sku


MAX_SEARCH_CHARS = 200


def escape_like(term: str) -> str:
    """`term` with the LIKE wildcards escaped (escape character `\\`)."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def like_pattern(term: str, field: list[str] | None = None) -> str:
    """A LIKE pattern matching `term` anywhere; a term over MAX_SEARCH_CHARS is INVALID."""
    if len(term) > MAX_SEARCH_CHARS:
        field = field or ["filter", "search"]
        message = f"{field[-1]} is longer than {MAX_SEARCH_CHARS} characters"
        raise DomainError(ErrorCode.INVALID, message, field)
    return f"%{escape_like(term)}%"
