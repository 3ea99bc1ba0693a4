"""The promotion area's root fields, for the schema's assembly."""

from schema.promotions.mutations import PromotionMutation
from schema.promotions.queries import PromotionQuery

QUERIES: tuple[type, ...] = (PromotionQuery,)
MUTATIONS: tuple[type, ...] = (PromotionMutation,)
