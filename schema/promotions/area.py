"""The promotion area's root fields, for the schema's assembly."""

from schema.base import Node
from schema.promotions.mutations import PromotionMutation
from schema.promotions.queries import PromotionQuery
from schema.promotions.types import Promotion

QUERIES: tuple[type, ...] = (PromotionQuery,)
MUTATIONS: tuple[type, ...] = (PromotionMutation,)
NODE_TYPES: tuple[type[Node], ...] = (Promotion,)
