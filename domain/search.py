"""Product search (API.md section 15): the words of a search, matched through an index.

Every word of the search must match a word of the product's name, SKU or description,
ignoring case and accents; the last word also matches as a prefix (a search box can query as
the user types). A search equal to a whole SKU finds that product, ranked first. A word is
whitespace-separated text with at least one letter or digit; punctuation inside a word splits
it the way the index split the product's text ("t-shirt" is the phrase "t shirt").

- PostgreSQL: `product.search_vector` (generated: `simple` configuration over unaccent, with
  ASCII punctuation as spaces; name and SKU weighted above the description) with a GIN index;
  each word is a phrase of its letter-and-digit runs, the last run with `:*`.
- SQLite: the FTS5 table `product_search` (unicode61, diacritics removed, prefix indexes) kept
  in step by triggers; each word is a quoted FTS5 phrase, the last one with `*`.

The tables, triggers and the generated column are made by the migration 5c3a9f1d2b7e.

RELEVANCE orders by a score where lower is better (so ASC, the default direction, is best
first): an exact SKU match, then the database's rank (minus ts_rank on PostgreSQL, bm25 on
SQLite), then the product id, so keyset cursors stay exact.
"""

import functools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import (
    Double,
    Integer,
    Select,
    String,
    Text,
    Uuid,
    and_,
    bindparam,
    case,
    cast,
    column,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSQUERY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Subquery

from domain.catalog import (
    ProductQuery,
    ProductSortField,
    in_stock_condition,
    product_conditions,
    product_sort_keys,
)
from domain.errors import DomainError, ErrorCode
from domain.pagination import Page, PageRequest, PageRows, SortKey, paginate
from domain.text import MAX_SEARCH_CHARS
from models.catalog import PRODUCT_CATEGORY_IDS, Product

MAX_SEARCH_WORDS = 16
SKU_MATCH_SCORE = -1e9
"""The score of the product whose whole SKU is the search: below any rank, so it comes first."""
SQLITE_COLUMN_WEIGHTS = (10.0, 10.0, 1.0)  # bm25 weights of name, sku, description
NAME_SKU_SCORE, DESCRIPTION_SCORE = -2.0, -1.0
SEARCH_ROW_STEP = 1e-9
"""SQLite, a one-word search: each hit's score is its tier plus its search row (the FTS
rowid, in the order products were indexed) times this: distinct, and within its tier for up
to 10^8 search rows (beyond, the order is still total, so cursors stay exact)."""
"""SQLite, a one-word search: the scores of a hit in the name or SKU, and in the description
only (see _sqlite_rank)."""

_WORD = re.compile(r"\S+")
_RUN = re.compile(r"[^\W_]+")  # letters and digits: what both indexes treat as one token
_FTS = table("product_search", column("rowid"))
_FTS_ROWS = table(
    "product_search_row",
    column("row"),
    column("product_id", Uuid()),
    column("status"),
    column("price", Integer()),
    column("brand_id", Uuid()),
    column("in_stock", Integer()),
    column("category_ids"),
)
"""One per product (the FTS rowid), with the product's status and facet columns (its
category ids a JSON array), kept in step by triggers (migrations 5c3a9f1d2b7e, f1a2b3c4d5e6,
a1b2c3d4e5f7)."""
_SEARCH_VECTOR = literal_column("product.search_vector")
NAME_SKU_VECTOR = (
    "(setweight(to_tsvector('simple'::regconfig, stockroom_search_text(name)), 'A')"
    " || setweight(to_tsvector('simple'::regconfig, stockroom_search_text(sku)), 'A'))"
)
"""PostgreSQL: the name-and-SKU part of search_vector, the expression of the GIN index
ix_product_search_name (migration e7f8a9b0c1d2; the same text, so the planner uses it)."""
_NAME_SKU_VECTOR = literal_column(NAME_SKU_VECTOR)
_NO_WORDS = literal_column("''::tsvector")
"""Appended to a vector so that an index on it does not serve a condition (a filter instead)."""


@dataclass(frozen=True)
class SearchTerms:
    """A search: the whole text (for the SKU match) and its words."""

    text: str
    words: tuple[str, ...]

    @classmethod
    def parse(cls, search: str | None) -> "SearchTerms | None":
        """The search's terms; None for no search (null or blank). INVALID if too long."""
        text = unicodedata.normalize("NFKC", search or "").strip()
        if not text:
            return None
        words = tuple(w for w in _WORD.findall(text) if any(c.isalnum() for c in w))
        if len(text) > MAX_SEARCH_CHARS or len(words) > MAX_SEARCH_WORDS:
            raise DomainError(
                ErrorCode.INVALID,
                f"search is at most {MAX_SEARCH_CHARS} characters and {MAX_SEARCH_WORDS} words",
                ["filter", "search"],
            )
        return cls(text, words)

    def _runs(self) -> list[tuple[int, int, str]]:
        """(word index, run index in the word, run) of every letter-and-digit run."""
        return [
            (w, t, run)
            for w, word in enumerate(self.words)
            for t, run in enumerate(_RUN.findall(word))
        ]

    def run_parameters(self) -> dict[str, str]:
        """The values of tsquery_source(bound=True)'s parameters."""
        return {f"search_run_{index}": run for index, (_, _, run) in enumerate(self._runs())}

    def fts5_query(self) -> str:
        """Every word as an FTS5 phrase (quoted: no operator syntax), the last as a prefix."""
        phrases = ['"' + w.replace('"', '""') + '"' for w in self.words]
        phrases[-1] += " *"
        return " ".join(phrases)

    def tsquery_source(
        self, weight: str = "", bound: bool = False, prefix: bool = True, word: int | None = None
    ) -> ColumnElement[str]:
        """SQL text for to_tsquery: each word a phrase of its letter-and-digit runs (`<->`),
        the words ANDed, the last run as a prefix (`:*`). Each run goes through
        stockroom_search_text (unaccent, punctuation as spaces) as the indexed text did, then
        inside quotes: it can never be operator syntax. `weight` ("A"): every run matches
        only words of that weight (the name and SKU). `bound`: the runs are the parameters
        `search_run_0`, `search_run_1`, ... (see run_parameters), not values. Not `prefix`:
        the last run is a whole word too. `word`: that word's phrase alone."""
        parts: list[Any] = []
        for index, (w, t, run) in enumerate(self._runs()):
            if word is not None and w != word:
                continue
            if t or (w and word is None):
                parts.append((":" + weight if weight else "") + (" <-> " if t else " & "))
            value = bindparam(f"search_run_{index}", type_=String()) if bound else literal(run)
            parts += ["'", func.stockroom_search_text(cast(value, Text)), "'"]
        parts.append((":*" if prefix else ":") + weight if prefix or weight else "")
        return func.concat(*parts)

    def run_value(self, index: int, bound: bool) -> ColumnElement[Any]:
        """The run number `index` (its parameter when `bound`)."""
        if bound:
            return bindparam(f"search_run_{index}", type_=String())
        return literal(self._runs()[index][2], String())


def _sku_match(terms: SearchTerms, bound: bool = False) -> ColumnElement[bool]:
    return Product.sku == (bindparam("search_text", type_=String()) if bound else terms.text)


def _tsquery(
    terms: SearchTerms,
    weight: str = "",
    bound: bool = False,
    prefix: bool = True,
    word: int | None = None,
) -> ColumnElement[Any]:
    """The search's tsquery (`word`: that word's alone) as a scalar subquery: computed once
    per statement, not per row."""
    source = terms.tsquery_source(weight, bound, prefix, word)
    parsed = func.to_tsquery(literal_column("'simple'::regconfig"), source)
    return select(parsed).scalar_subquery()


EXPANDED_WORDS = 8
"""PostgreSQL: a search's last word (a prefix) is matched as the words of `search_word` that
start with it when there are at most this many, else as a prefix (see _matching_tsquery)."""
_WORDS = table("search_word", column("word", Text()))
"""Every lexeme of every product's search_vector (byte order), kept by triggers (migration
b8c9d0e1f2a3); a word no product has any more may still be there."""


def _last_word_tsquery(terms: SearchTerms, bound: bool = False) -> ColumnElement[Any]:
    """A tsquery matching exactly the products the last word (a prefix) matches, for `@@`
    only, never for ts_rank; computed once per statement: when the word is one run whose
    lexeme starts at most EXPANDED_WORDS words of `search_word`, those words ORed (`mug:*`
    becomes `'mug' | 'mugs'`), else the prefix. GIN reads a prefix by collecting every
    posting of every word it matches into a bitmap before intersecting it with the other
    words (at 1M products `rustic teal mug:*` took 24 ms in the index), while exact words
    are intersected by skipping through their posting lists (`rustic teal mug`: 6 ms). The
    same products: every lexeme of every product is in `search_word`, so a product has a
    word starting with the prefix exactly when it has one of those words."""
    last = len(terms.words) - 1
    prefix = _tsquery(terms, bound=bound, word=last)
    runs = terms._runs()
    if len(runs) > 1 and runs[-2][0] == runs[-1][0]:
        return prefix  # the last word is a phrase of runs: its last run stays a prefix
    tokens = func.tsvector_to_array(
        func.to_tsvector(
            literal_column("'simple'::regconfig"),
            func.stockroom_search_text(cast(terms.run_value(len(runs) - 1, bound), Text)),
        ),
        type_=ARRAY(Text()),
    )
    lexeme = case((func.cardinality(tokens) == 1, tokens[1]), else_=None).collate("C")
    first = (
        select(_WORDS.c.word)
        .where(_WORDS.c.word >= lexeme)
        .order_by(_WORDS.c.word)
        .limit(EXPANDED_WORDS + 1)
        .subquery("prefixed")
    )
    quoted = func.replace(func.replace(first.c.word, "\\", "\\\\"), "'", "''")
    alternatives = func.string_agg(func.distinct(literal("'") + quoted + literal("'")), " | ")
    words = (
        select(case((func.count() <= EXPANDED_WORDS, cast(alternatives, TSQUERY)), else_=None))
        .where(func.starts_with(first.c.word, lexeme))
        .scalar_subquery()
    )
    return select(func.coalesce(words, prefix)).scalar_subquery()


def word_tsqueries(terms: SearchTerms, bound: bool = False) -> list[ColumnElement[Any]]:
    """One tsquery per word, the last matched as `_last_word_tsquery` does: a product matches
    the search when its search_vector matches each of them (`_matches`)."""
    last = len(terms.words) - 1
    exact = [_tsquery(terms, bound=bound, prefix=False, word=w) for w in range(last)]
    return [*exact, _last_word_tsquery(terms, bound)]


def _matches(terms: SearchTerms, bound: bool = False) -> ColumnElement[bool]:
    """The products whose search_vector matches every word: one `@@` condition per word, not
    one tsquery ANDing them. A GIN scan steps through one query's rarest word's postings
    one by one, checking the others at each; given one condition per word it leaps each
    word's postings to the furthest any has reached. At 1M products, `rustic teal mug`
    (50k, 100k and 200k postings): 5.5 -> 4.2 ms in the index. The last word stays last
    (an expanded prefix is the widest)."""
    return and_(*(_SEARCH_VECTOR.op("@@")(q) for q in word_tsqueries(terms, bound)))


def _postgres_search(
    stmt: Select[Any], terms: SearchTerms, bound: bool = False
) -> tuple[Select[Any], ColumnElement[Any]]:
    """Products whose search_vector matches (GIN index) or whose SKU is the search; scored
    by ts_rank (several words) or, one word, by tier as on SQLite: NAME_SKU_SCORE when it
    matches weight-A words (the name and SKU), else DESCRIPTION_SCORE. `bound`: the search's
    values are parameters (PlainSearch.parameters), not literals."""
    sku = _sku_match(terms, bound)
    if not terms.words:
        return stmt.where(sku), literal(SKU_MATCH_SCORE, Double)
    if len(terms.words) > 1:
        query = _tsquery(terms, bound=bound)
        rank: ColumnElement[Any] = -cast(func.ts_rank(_SEARCH_VECTOR, query), Double)
    else:
        rank = case(
            (
                _SEARCH_VECTOR.op("@@")(_tsquery(terms, "A", bound=bound)),
                literal(NAME_SKU_SCORE, Double),
            ),
            else_=literal(DESCRIPTION_SCORE, Double),
        )
    score = case((sku, literal(SKU_MATCH_SCORE, Double)), else_=rank)
    return stmt.where(or_(_matches(terms, bound), sku)), score


def _postgres_first_page(terms: SearchTerms, status: str | None, probe_rows: int) -> "FirstPage":
    """The first page of a one-word RELEVANCE search on PostgreSQL (see _first_page_statement):
    its statement is built once per shape (the word's runs, status or not, page size, probe)
    and kept; the search's values are its parameters (building it took 2 ms a request)."""
    params: dict[str, Any] = {"search_text": terms.text, **terms.run_parameters()}
    if status is not None:
        params["search_status"] = status
    shape = (len(terms.run_parameters()), status is not None, probe_rows)

    def build(limit: int) -> tuple[Select[Any], list[SortKey], dict[str, Any]]:
        return (*_first_page_statement(*shape, limit), params)

    return build


@functools.lru_cache(maxsize=1024)
def _first_page_statement(
    runs: int, by_status: bool, probe_rows: int, limit: int
) -> tuple[Select[Any], list[SortKey]]:
    """The first page of `limit` rows of a one-word RELEVANCE search on PostgreSQL (only the
    search and the status filter; parameters `search_text`, `search_run_N`, `search_status`
    when `by_status`), in the order of `_postgres_search` (SKU match, name-or-SKU tier,
    description tier, each tier by id), without reading every hit: a GIN bitmap of 10k hits
    visits ~5k heap pages (about 7 ms at 100k products, whatever is computed from them).

    A probe reads the first `probe_rows` products by id (the primary key's order: a bounded
    scan) and sorts its hits into the two tiers. A tier's hits in the probe are that tier's
    first hits by id, so when the probe holds `limit` of them they are the answer; only
    otherwise is the tier read whole: the name-or-SKU tier from ix_product_search_name (its
    candidates checked against the same weight-A query), the description tier from the
    search index. Each branch is gated by one-time conditions on the counts, so only the
    branches needed run; the planner is never left to guess (a prefix's selectivity is a
    fixed guess: it would scan the primary key for a word no product has)."""

    shape = SearchTerms("", ("-".join("x" * runs),))  # a word of `runs` runs, all bound
    text = bindparam("search_text", type_=String())
    status = bindparam("search_status", type_=String()) if by_status else None
    query = _tsquery(shape, bound=True)
    named = _SEARCH_VECTOR.op("@@")(_tsquery(shape, "A", bound=True))
    live = [Product.status == status] if status is not None else []
    scan = (
        select(Product.id, Product.status, Product.sku, _SEARCH_VECTOR.label("vector"))
        .order_by(Product.id)
        .limit(probe_rows)
        .subquery("probe_rows")
    )
    probed = (
        select(scan.c.id, scan.c.vector.op("@@")(_tsquery(shape, "A", bound=True)).label("named"))
        .where(
            scan.c.vector.op("@@")(query),
            scan.c.sku != text,
            *([scan.c.status == status] if status is not None else []),
        )
        .cte("probe_hits")
        .prefix_with("MATERIALIZED")
    )
    probed_named = select(probed.c.id).where(probed.c.named).subquery("probed_named")
    probed_other = select(probed.c.id).where(~probed.c.named).subquery("probed_other")
    # the weight-A check as a filter of the name index's candidates: written so that the
    # search index cannot serve it (the planner ANDed both bitmaps, reading 10k entries of a
    # prefix's search-index list to keep none: 'walnu' at 100k, 8.4 -> 5.3 ms)
    checked_named = _SEARCH_VECTOR.op("||")(_NO_WORDS).op("@@")(_tsquery(shape, "A", bound=True))
    all_named = (
        select(Product.id)
        .where(_NAME_SKU_VECTOR.op("@@")(query), checked_named, Product.sku != text, *live)
        .cte("name_hits")
        .prefix_with("MATERIALIZED")
    )
    all_other = (
        select(Product.id)
        .where(_SEARCH_VECTOR.op("@@")(query), ~named, Product.sku != text, *live)
        .cte("description_hits")
        .prefix_with("MATERIALIZED")
    )

    def count(rows: Any) -> Any:
        return select(func.count()).select_from(rows).scalar_subquery()

    def tier(rows: Any, score: float, *gate: Any) -> Select[Any]:
        scored = select(rows.c.id, literal(score, Double).label("score"))
        return scored.where(*gate).order_by(rows.c.id).limit(limit)

    few_probed_named = count(probed_named) < limit
    few_named = and_(few_probed_named, count(all_named) < limit)
    hits = union_all(
        select(Product.id, literal(SKU_MATCH_SCORE, Double).label("score")).where(
            Product.sku == text, *live
        ),
        tier(probed_named, NAME_SKU_SCORE, ~few_probed_named),
        tier(all_named, NAME_SKU_SCORE, few_probed_named),
        tier(probed_other, DESCRIPTION_SCORE, few_named, count(probed_other) >= limit),
        tier(all_other, DESCRIPTION_SCORE, few_named, count(probed_other) < limit),
    ).subquery("search_hits")
    keys = [
        SortKey(hits.c.score, lambda row: row.score),
        SortKey(hits.c.id, lambda row: row[0].id),
    ]
    return select(hits), keys


def _sqlite_rank(terms: SearchTerms) -> ColumnElement[float]:
    """The score of an FTS hit (lower is better). Several words: bm25 (weights name 10, SKU
    10, description 1). One word (a prefix): a tier, NAME_SKU_SCORE when the word is in the
    name or SKU (an FTS5 query of those columns, once per statement), DESCRIPTION_SCORE when
    only in the description, plus SEARCH_ROW_STEP times the hit's search row, so each tier
    is in the order products were indexed (created) and every score is distinct (the first
    page then needs no sort of every hit: _sqlite_first_page). bm25 reads every hit's
    positions and column sizes: over a 10k-hit prefix at 100k products 13.7 of the page's
    14 ms, the tiers 5 ms. For one word bm25 mostly said the same (its IDF is one constant,
    the 10:1 column weights dominate); what the tiers drop is its preference, within a
    tier, for shorter texts and repeated words."""
    if len(terms.words) > 1:
        return func.bm25(literal_column("product_search"), *SQLITE_COLUMN_WEIGHTS)
    in_name_or_sku = (
        select(_FTS.c.rowid)
        .where(literal_column("product_search").match("{name sku} : " + terms.fts5_query()))
        .correlate(None)
    )
    tier = case(
        (_FTS.c.rowid.in_(in_name_or_sku), literal(NAME_SKU_SCORE, Double)),
        else_=literal(DESCRIPTION_SCORE, Double),
    )
    return tier + _in_search_row_order()


def _in_search_row_order() -> ColumnElement[float]:
    """SQLite, one word: what a hit's search row adds to its tier (SEARCH_ROW_STEP each)."""
    return _FTS.c.rowid * literal(SEARCH_ROW_STEP, Double)


def _sqlite_first_page(terms: SearchTerms, status: str | None) -> "FirstPage":
    """The first page of a one-word RELEVANCE search on SQLite (only the search and the
    status filter; see _sqlite_first_page_statement), its statement built once per shape."""
    params: dict[str, Any] = {"search_text": terms.text, "search_fts": terms.fts5_query()}
    if status is not None:
        params["search_status"] = status

    def build(limit: int) -> tuple[Select[Any], list[SortKey], dict[str, Any]]:
        return (*_sqlite_first_page_statement(status is not None, limit), params)

    return build


@functools.lru_cache(maxsize=256)
def _sqlite_first_page_statement(by_status: bool, limit: int) -> tuple[Select[Any], list[SortKey]]:
    """The first `limit` rows of `_sqlite_hits` for one word (parameters `search_text`,
    `search_fts`, `search_status` when `by_status`), without ranking every hit: each tier's
    first `limit` hits in the FTS index's own (rowid) order, which is the tier's score order,
    so FTS5 streams them and stops (a 10k-hit prefix at 100k products: 5 -> 0.7 ms)."""
    text = bindparam("search_text", type_=String())
    fts = bindparam("search_fts", type_=String())
    in_names = literal("{name sku} : ") + fts
    status = bindparam("search_status", type_=String()) if by_status else None
    rows = _FTS_ROWS.c
    sku_product = select(Product.id).where(Product.sku == text)
    if status is not None:
        sku_product = sku_product.where(Product.status == status)
    named = select(_FTS.c.rowid).where(literal_column("product_search").match(in_names))

    def tier(match: Any, score: float, *other: Any) -> Select[Any]:
        first = (
            select(
                rows.product_id.label("id"),
                (literal(score, Double) + _in_search_row_order()).label("score"),
            )
            .select_from(_FTS.join(_FTS_ROWS, rows.row == _FTS.c.rowid))
            .where(
                literal_column("product_search").match(match),
                rows.product_id.is_distinct_from(sku_product.scalar_subquery()),
                *other,
                *([rows.status == status] if status is not None else []),
            )
            .order_by(_FTS.c.rowid)
            .limit(limit)
            .subquery()
        )
        return select(first.c.id, first.c.score)  # (SQLite: no LIMIT inside a compound)

    hits = union_all(
        sku_product.add_columns(literal(SKU_MATCH_SCORE, Double).label("score")),
        tier(in_names, NAME_SKU_SCORE),
        tier(fts, DESCRIPTION_SCORE, _FTS.c.rowid.not_in(named.correlate(None))),
    ).subquery("search_hits")
    keys = [
        SortKey(hits.c.score, lambda row: row.score),
        SortKey(hits.c.id, lambda row: row[0].id),
    ]
    return select(hits), keys


def _sqlite_hits(terms: SearchTerms, status: str | None, ranked: bool = True) -> Subquery:
    """(id, score) of the products matching in FTS5 (with bm25) and of the exact-SKU product;
    the FTS branch leaves that product out, so each product is there once. With `status`,
    only products of that status (checked on product_search_row, not the product). Not
    `ranked`: every FTS hit scores 0 (for counts and other sorts: SQLite computes a compound
    subquery's columns even when unused, and bm25 is most of the time of a count of hits)."""
    sku_product = select(Product.id).where(_sku_match(terms))
    if status is not None:
        sku_product = sku_product.where(Product.status == status)
    branches: list[Select[Any]] = [
        sku_product.add_columns(literal(SKU_MATCH_SCORE, Double).label("score"))
    ]
    if terms.words:
        score = _sqlite_rank(terms) if ranked else literal(0.0, Double)
        fts_hits = (
            select(_FTS_ROWS.c.product_id, score.label("score"))
            .select_from(_FTS.join(_FTS_ROWS, _FTS_ROWS.c.row == _FTS.c.rowid))
            .where(
                literal_column("product_search").match(terms.fts5_query()),
                _FTS_ROWS.c.product_id.is_distinct_from(sku_product.scalar_subquery()),
            )
        )
        if status is not None:
            fts_hits = fts_hits.where(_FTS_ROWS.c.status == status)
        branches.append(fts_hits)
    return union_all(*branches).subquery("search_hits")


def _sqlite_search(
    stmt: Select[Any], terms: SearchTerms, ranked: bool
) -> tuple[Select[Any], ColumnElement[Any]]:
    """Products joined to their hits (scored by bm25 only when `ranked`)."""
    hits = _sqlite_hits(terms, None, ranked)
    return stmt.join(hits, hits.c[0] == Product.id), hits.c.score


@dataclass(frozen=True)
class PlainSearch:
    """A listing that filters on nothing but a search and the status (the common storefront
    search): the statements counting its facets are built once per `shape` (the runs of
    each word, whether a status is filtered) and kept; the search's values are their
    `parameters` (building one took 1-2 ms a request)."""

    terms: SearchTerms
    status: str | None

    @classmethod
    def of(cls, query: ProductQuery, storefront: bool) -> "PlainSearch | None":
        terms = SearchTerms.parse(query.search)
        plain, status = _only_status(query, storefront)
        return cls(terms, status) if terms is not None and plain else None

    @property
    def shape(self) -> tuple[tuple[int, ...], bool]:
        runs = tuple(len(_RUN.findall(word)) for word in self.terms.words)
        return runs, self.status is not None

    @property
    def parameters(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "search_text": self.terms.text,
            "search_fts": self.terms.fts5_query() if self.terms.words else "",
            **self.terms.run_parameters(),
        }
        if self.status is not None:
            params["search_status"] = self.status
        return params


def _shaped(runs: tuple[int, ...]) -> SearchTerms:
    """A search of words with these numbers of runs (its runs bound: see run_parameters)."""
    return SearchTerms("", tuple("-".join("x" * n) for n in runs))


def facet_hits(runs: tuple[int, ...], by_status: bool, sqlite: bool) -> tuple[Select[Any], ...]:
    """The (id, brand_id, price, in_stock, category_ids) rows of the products a PlainSearch of
    this shape matches (its `parameters`), the listing's own matches, in parts that never
    share a product (SQLite: the SKU's product and the FTS hits, each grouped on its own, not
    10k hits read through a UNION: 0.3-1 ms of 14-16 in SQL). SQLite: the FTS hits'
    columns from product_search_row alone (no lookup of each hit's product row: 18 -> 10 ms
    for the 5k hits of one word at 100k products), with their category ids (a JSON array).
    PostgreSQL: the product rows, with their category ids (uuid[])."""
    text = bindparam("search_text", type_=String())
    status = bindparam("search_status", type_=String()) if by_status else None
    if sqlite:
        return _sqlite_facet_hits(bool(runs), text, status)
    stmt = select(
        Product.id,
        Product.brand_id,
        Product.price,
        case((in_stock_condition(True), 1), else_=0).label("in_stock"),
        PRODUCT_CATEGORY_IDS.label("category_ids"),
    )
    if status is not None:
        stmt = stmt.where(Product.status == status)
    sku = Product.sku == text
    if runs:
        stmt = stmt.where(or_(_matches(_shaped(runs), bound=True), sku))  # (the listing's own)
    else:
        stmt = stmt.where(sku)
    return (stmt,)


def _sqlite_facet_hits(words: bool, text: Any, status: Any) -> tuple[Select[Any], ...]:
    rows = _FTS_ROWS.c
    columns = (
        rows.product_id.label("id"),
        rows.brand_id,
        rows.price,
        rows.in_stock,
        rows.category_ids,
    )
    sku_product = select(Product.id).where(Product.sku == text)
    if status is not None:
        sku_product = sku_product.where(Product.status == status)
    sku_hit = select(*columns).where(rows.product_id == sku_product.scalar_subquery())
    if not words:
        return (sku_hit,)
    fts_hits = (
        select(*columns)
        .select_from(_FTS.join(_FTS_ROWS, rows.row == _FTS.c.rowid))
        .where(
            literal_column("product_search").match(bindparam("search_fts", type_=String())),
            rows.product_id.is_distinct_from(sku_product.scalar_subquery()),
        )
    )
    if status is not None:
        fts_hits = fts_hits.where(rows.status == status)
    return sku_hit, fts_hits


def _only_status(query: ProductQuery, storefront: bool) -> tuple[bool, str | None]:
    """Whether the listing filters on nothing but the search and the status, and the one
    status it needs (None: any)."""
    others = replace(query, search=None, status=None, include_subcategories=True)
    if others != ProductQuery():
        return False, None
    wanted = {s for s in ("LIVE" if storefront else None, query.status and query.status.value) if s}
    return len(wanted) <= 1, next(iter(wanted), None)


FirstPage = Callable[[int], tuple[Select[Any], list[SortKey], dict[str, Any]]]
PROBE_ROWS = 1000
"""PostgreSQL, a one-word search's first page: the products (by id) probed for the
description tier before the GIN index is read instead (see _postgres_first_page)."""


@dataclass(frozen=True)
class ProductListing:
    """A product listing's statement and keyset sort keys. A `scored` statement selects the
    narrow (id, score) rows of every match, ranked and limited, and `page_rows` reads the
    page's products from them in the same statement: the wide product rows are read for the
    page only, never for every hit ranked (PostgreSQL: a window over 10k wide rows spilled to
    disk; 33 -> 16 ms for a 10k-hit prefix search at 100k products)."""

    statement: Select[Any]
    keys: list[SortKey]
    sort: ProductSortField
    scored: bool
    page_rows: PageRows | None = None
    counted: Select[Any] | None = None
    """The same rows without their rank, for the count (None: the statement itself)."""
    windowed: bool = False
    """The statement's rows carry `total`, the count of every row (a window over the rows it
    ranks anyway): a first page needs no count statement."""
    first_page: "FirstPage | None" = None
    """Builds a cheaper statement (and its keys) for a first page of `limit` rows forward,
    in the same order: page_of_products uses it for such pages."""
    params: dict[str, Any] | None = None
    """The values of the statement's named parameters (a statement kept per shape)."""


def _with_products(windowed: bool) -> PageRows:
    """The page's (Product, score[, total]) rows from its ranked (id, score[, total]) rows."""

    def page_rows(page: Subquery, descending: bool) -> Select[Any]:
        columns: list[Any] = [Product, page.c.score, *([page.c.total] if windowed else [])]
        order = (page.c.score, page.c.id)
        return (
            select(*columns)
            .join(page, page.c.id == Product.id)
            .order_by(*(c.desc() if descending else c.asc() for c in order))
        )

    return page_rows


def _scored(
    ranked: Select[Any],
    keys: list[SortKey],
    counted: Select[Any] | None,
    windowed: bool,
    first_page: FirstPage | None = None,
    params: dict[str, Any] | None = None,
) -> ProductListing:
    """A RELEVANCE listing of the narrow `ranked` rows (see ProductListing)."""
    return ProductListing(
        ranked,
        keys,
        ProductSortField.RELEVANCE,
        scored=True,
        page_rows=_with_products(windowed),
        counted=counted,
        windowed=windowed,
        first_page=first_page,
        params=params,
    )


def _ranked_columns(
    found: Select[Any], score: ColumnElement[Any], windowed: bool
) -> tuple[Select[Any], list[SortKey]]:
    """`found`'s narrow (id, score[, total]) rows and their keyset keys."""
    keys = [
        SortKey(score, lambda row: row.score),
        SortKey(Product.id, lambda row: row[0].id),
    ]
    columns: list[Any] = [Product.id.label("id"), score.label("score")]
    if windowed:
        columns.append(func.count().over().label("total"))
    return found.with_only_columns(*columns), keys


@functools.lru_cache(maxsize=1024)
def _postgres_ranked_statement(
    runs: tuple[int, ...], by_status: bool, windowed: bool
) -> tuple[Select[Any], list[SortKey]]:
    """The ranked statement of a PlainSearch of this shape on PostgreSQL (its values are the
    PlainSearch's parameters), made once per shape and kept: building it and its cache key
    took 1.3 ms a request for three words."""
    stmt = select(Product)
    if by_status:
        stmt = stmt.where(Product.status == bindparam("search_status", type_=String()))
    return _ranked_columns(*_postgres_search(stmt, _shaped(runs), bound=True), windowed)


def product_listing(
    query: ProductQuery,
    sort: ProductSortField | None,
    storefront: bool,
    sqlite: bool,
    with_total: bool = True,
    probe_rows: int = PROBE_ROWS,
) -> ProductListing:
    """The listing of `query` in `sort` order (None: RELEVANCE with a search, else NAME;
    RELEVANCE without a search is NAME). Not `with_total`: the caller does not want the
    count, so PostgreSQL ranks without a window counting the hits."""
    terms = SearchTerms.parse(query.search)
    if sort is None or (sort is ProductSortField.RELEVANCE and terms is None):
        sort = ProductSortField.RELEVANCE if terms else ProductSortField.NAME
    stmt = select(Product).where(*product_conditions(query, storefront, sqlite))
    if terms is None:
        return ProductListing(stmt, product_sort_keys(sort), sort, scored=False)
    relevance = sort is ProductSortField.RELEVANCE
    plain, status = _only_status(query, storefront)
    if sqlite and plain and relevance:
        # The common storefront search: rank the hits alone (product_search_row knows each
        # product's status), never joining every hit's product row before sorting (measured:
        # 2-3x less time at 5k+ hits).
        hits = _sqlite_hits(terms, status)
        keys = [
            SortKey(hits.c.score, lambda row: row.score),
            SortKey(hits.c.id, lambda row: row[0].id),
        ]
        counted = select(_sqlite_hits(terms, status, ranked=False))
        first = _sqlite_first_page(terms, status) if len(terms.words) == 1 else None
        return _scored(select(hits), keys, counted, windowed=False, first_page=first)
    counted = None
    if sqlite:
        searched, score = _sqlite_search(stmt, terms, ranked=relevance)
        if relevance:
            counted = _sqlite_search(stmt, terms, ranked=False)[0]
    if not relevance:
        if not sqlite:
            searched, score = _postgres_search(stmt, terms)
        return ProductListing(searched, product_sort_keys(sort), sort, scored=False)
    # PostgreSQL reads every hit's row to rank it: the count comes with it (a window over the
    # narrow rows), instead of a second statement reading them all again
    windowed = not sqlite and with_total

    if not sqlite and plain:
        search = PlainSearch(terms, status)
        runs, by_status = search.shape
        ranked_statement, keys = _postgres_ranked_statement(runs, by_status, windowed)
        first_page = None
        if not windowed and len(terms.words) == 1:
            first_page = _postgres_first_page(terms, status, probe_rows)
        return _scored(ranked_statement, keys, None, windowed, first_page, search.parameters)
    if sqlite:
        return _scored(*_ranked_columns(searched, score, windowed), counted, windowed)
    return _scored(*_ranked_columns(*_postgres_search(stmt, terms), windowed), None, windowed)


async def page_of_products(
    session: AsyncSession, listing: ProductListing, descending: bool, request: PageRequest
) -> Page[Product]:
    if listing.first_page and not (descending or request.backwards or request.after):
        statement, keys, params = listing.first_page(request.size + 1)
    else:
        statement, keys, params = listing.statement, listing.keys, listing.params
    page = await paginate(
        session,
        statement,
        keys,
        descending,
        request,
        scalars=not listing.scored,
        page_rows=listing.page_rows,
        params=params,
    )
    # the count: the listing's own rows (made only if it is asked)
    page.filtered = listing.counted if listing.counted is not None else lambda: listing.statement
    page.params = listing.params
    if listing.windowed and not (request.after or request.before):  # a cursor narrows the rows
        if page.items:
            page.total = page.items[0].total
        elif not page.has_next_page:  # (first: 0 lists none of the rows there are)
            page.total = 0
    if listing.scored:
        page.items = [row[0] for row in page.items]
    return page
