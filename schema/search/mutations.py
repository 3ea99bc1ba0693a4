"""Search root mutation fields: productBulkCreate."""

import strawberry

from domain.bulk import MAX_BULK_INPUTS
from resolvers import search as resolve
from schema.base import IsAdmin, StrawberryInfo, described, input_data, mutate
from schema.catalog.inputs import ProductInput
from schema.catalog.types import Product
from schema.search.types import ProductBulkPayload


@strawberry.type
class SearchMutation:
    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description=(
            f"Create up to {MAX_BULK_INPUTS} products at once, all or none, each checked as "
            "productCreate checks it; every problem of every input is reported."
        ),
    )
    async def product_bulk_create(
        self,
        info: StrawberryInfo,
        inputs: described(list[ProductInput], f"The products' fields (at most {MAX_BULK_INPUTS})."),
    ) -> ProductBulkPayload | None:
        async def run() -> dict[str, object]:
            rows = await resolve.create_products(info.context, input_data(inputs))
            return {"products": [Product.of(r) for r in rows]}

        return await mutate(ProductBulkPayload, run)
