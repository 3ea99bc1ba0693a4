"""Catalogue root mutation fields and their payload types."""

import strawberry

from models.catalog import Brand as BrandRow
from models.catalog import Collection as CollectionRow
from resolvers import catalog as resolve
from resolvers.ids import decode_id
from schema.base import (
    IsAdmin,
    StrawberryInfo,
    UserError,
    described,
    input_data,
    mutate,
    row_result,
)
from schema.catalog.inputs import (
    BrandInput,
    CategoryInput,
    CategoryMoveInput,
    CollectionInput,
    CurrencyInput,
    FieldDefinitionInput,
    ProductInput,
    TaxBandInput,
    VariationInput,
    VariationOptionInput,
)
from schema.catalog.types import (
    Brand,
    Category,
    Collection,
    Currency,
    FieldDefinition,
    Product,
    TaxBand,
    Variation,
    VariationOption,
)


@strawberry.type(description="The result of a tax band mutation.")
class TaxBandPayload:
    tax_band: TaxBand | None = strawberry.field(default=None, description="The tax band.")
    errors: list[UserError] = strawberry.field(description="Why it failed (empty on success).")


@strawberry.type(description="The result of a currency mutation.")
class CurrencyPayload:
    currency: Currency | None = strawberry.field(default=None, description="The currency.")
    errors: list[UserError] = strawberry.field(description="Why it failed (empty on success).")


@strawberry.type(description="The result of a product mutation.")
class ProductPayload:
    product: Product | None = strawberry.field(default=None, description="The product.")
    errors: list[UserError] = strawberry.field(description="Why it failed (empty on success).")


@strawberry.type(description="The result of a category mutation.")
class CategoryPayload:
    category: Category | None = strawberry.field(default=None, description="The category.")
    errors: list[UserError] = strawberry.field(description="Why it failed (empty on success).")


@strawberry.type(description="The result of categoriesReorder.")
class CategoriesPayload:
    categories: list[Category] | None = strawberry.field(
        default=None, description="The moved categories, in the order of the input."
    )
    errors: list[UserError] = strawberry.field(description="Why it failed (empty on success).")


@strawberry.type(description="The result of a brand mutation.")
class BrandPayload:
    brand: Brand | None = strawberry.field(default=None, description="The brand.")
    errors: list[UserError] = strawberry.field(description="Why it failed (empty on success).")


@strawberry.type(description="The result of a collection mutation.")
class CollectionPayload:
    collection: Collection | None = strawberry.field(default=None, description="The collection.")
    errors: list[UserError] = strawberry.field(description="Why it failed (empty on success).")


@strawberry.type(description="The result of a variation mutation.")
class VariationPayload:
    variation: Variation | None = strawberry.field(default=None, description="The variation.")
    errors: list[UserError] = strawberry.field(description="Why it failed (empty on success).")


@strawberry.type(description="The result of a variation option mutation.")
class VariationOptionPayload:
    variation_option: VariationOption | None = strawberry.field(
        default=None, description="The option."
    )
    errors: list[UserError] = strawberry.field(description="Why it failed (empty on success).")


@strawberry.type(description="The result of a custom field definition mutation.")
class FieldDefinitionPayload:
    field_definition: FieldDefinition | None = strawberry.field(
        default=None, description="The definition."
    )
    errors: list[UserError] = strawberry.field(description="Why it failed (empty on success).")


tax_band_result = row_result(TaxBandPayload, "tax_band", TaxBand.of)
currency_result = row_result(CurrencyPayload, "currency", Currency.of)
product_result = row_result(ProductPayload, "product", Product.of)
variation_result = row_result(VariationPayload, "variation", Variation.of)
variation_option_result = row_result(VariationOptionPayload, "variation_option", VariationOption.of)
category_result = row_result(CategoryPayload, "category", Category.of)
brand_result = row_result(BrandPayload, "brand", Brand.of)
collection_result = row_result(CollectionPayload, "collection", Collection.of)
field_definition_result = row_result(FieldDefinitionPayload, "field_definition", FieldDefinition.of)


@strawberry.type
class CatalogMutation:
    @strawberry.mutation(permission_classes=[IsAdmin], description="Create a tax band.")
    async def tax_band_create(
        self, info: StrawberryInfo, input: described(TaxBandInput, "The tax band's fields.")
    ) -> TaxBandPayload | None:
        return await tax_band_result(
            lambda: resolve.create_tax_band(info.context, input_data(input))
        )

    @strawberry.mutation(permission_classes=[IsAdmin], description="Change a tax band.")
    async def tax_band_update(
        self,
        info: StrawberryInfo,
        id: described(strawberry.ID, "Id of the tax band to change."),
        input: described(TaxBandInput, "The tax band's fields."),
    ) -> TaxBandPayload | None:
        return await tax_band_result(
            lambda: resolve.update_tax_band(
                info.context, decode_id(id, "TaxBand"), input_data(input)
            )
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Delete a tax band no product or method uses (IN_USE otherwise).",
    )
    async def tax_band_delete(
        self, info: StrawberryInfo, id: described(strawberry.ID, "Id of the tax band to delete.")
    ) -> TaxBandPayload | None:
        return await tax_band_result(
            lambda: resolve.delete_tax_band(info.context, decode_id(id, "TaxBand"))
        )

    @strawberry.mutation(permission_classes=[IsAdmin], description="Add a currency.")
    async def currency_create(
        self, info: StrawberryInfo, input: described(CurrencyInput, "The currency's fields.")
    ) -> CurrencyPayload | None:
        return await currency_result(
            lambda: resolve.create_currency(info.context, input_data(input))
        )

    @strawberry.mutation(permission_classes=[IsAdmin], description="Change a currency.")
    async def currency_update(
        self,
        info: StrawberryInfo,
        id: described(strawberry.ID, "Id of the currency to change."),
        input: described(CurrencyInput, "The currency's fields."),
    ) -> CurrencyPayload | None:
        return await currency_result(
            lambda: resolve.update_currency(
                info.context, decode_id(id, "Currency"), input_data(input)
            )
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Delete a currency (never the store default, nor one carts or orders use).",
    )
    async def currency_delete(
        self, info: StrawberryInfo, id: described(strawberry.ID, "Id of the currency to delete.")
    ) -> CurrencyPayload | None:
        return await currency_result(
            lambda: resolve.delete_currency(info.context, decode_id(id, "Currency"))
        )

    # products

    @strawberry.mutation(permission_classes=[IsAdmin], description="Create a product.")
    async def product_create(
        self, info: StrawberryInfo, input: described(ProductInput, "The product's fields.")
    ) -> ProductPayload | None:
        return await product_result(lambda: resolve.create_product(info.context, input_data(input)))

    @strawberry.mutation(
        permission_classes=[IsAdmin], description="Change a product (omitted fields stay)."
    )
    async def product_update(
        self,
        info: StrawberryInfo,
        id: described(strawberry.ID, "Id of the product to change."),
        input: described(ProductInput, "The product's fields."),
    ) -> ProductPayload | None:
        return await product_result(
            lambda: resolve.update_product(
                info.context, decode_id(id, "Product"), input_data(input)
            )
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description=(
            "Delete a product with its children and variations. Orders keep their copies of "
            "its lines."
        ),
    )
    async def product_delete(
        self, info: StrawberryInfo, id: described(strawberry.ID, "Id of the product to delete.")
    ) -> ProductPayload | None:
        return await product_result(
            lambda: resolve.delete_product(info.context, decode_id(id, "Product"))
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Add a variation (an option axis such as Size) to a product.",
    )
    async def product_variation_create(
        self,
        info: StrawberryInfo,
        product_id: described(strawberry.ID, "The product to add it to."),
        input: described(VariationInput, "The variation's fields."),
    ) -> VariationPayload | None:
        return await variation_result(
            lambda: resolve.create_variation(
                info.context, decode_id(product_id, "Product", ["productId"]), input_data(input)
            )
        )

    @strawberry.mutation(permission_classes=[IsAdmin], description="Rename a variation.")
    async def product_variation_update(
        self,
        info: StrawberryInfo,
        id: described(strawberry.ID, "Id of the variation to change."),
        input: described(VariationInput, "The variation's fields."),
    ) -> VariationPayload | None:
        return await variation_result(
            lambda: resolve.update_variation(
                info.context, decode_id(id, "Variation"), input_data(input)
            )
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Delete a variation and its options (rebuild children afterwards).",
    )
    async def product_variation_delete(
        self, info: StrawberryInfo, id: described(strawberry.ID, "Id of the variation to delete.")
    ) -> VariationPayload | None:
        return await variation_result(
            lambda: resolve.delete_variation(info.context, decode_id(id, "Variation"))
        )

    @strawberry.mutation(permission_classes=[IsAdmin], description="Add an option to a variation.")
    async def variation_option_create(
        self,
        info: StrawberryInfo,
        variation_id: described(strawberry.ID, "The variation to add it to."),
        input: described(VariationOptionInput, "The option's fields."),
    ) -> VariationOptionPayload | None:
        return await variation_option_result(
            lambda: resolve.create_option(
                info.context,
                decode_id(variation_id, "Variation", ["variationId"]),
                input_data(input),
            )
        )

    @strawberry.mutation(permission_classes=[IsAdmin], description="Change an option.")
    async def variation_option_update(
        self,
        info: StrawberryInfo,
        id: described(strawberry.ID, "Id of the option to change."),
        input: described(VariationOptionInput, "The option's fields."),
    ) -> VariationOptionPayload | None:
        return await variation_option_result(
            lambda: resolve.update_option(
                info.context, decode_id(id, "VariationOption"), input_data(input)
            )
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin], description="Delete an option (rebuild children afterwards)."
    )
    async def variation_option_delete(
        self, info: StrawberryInfo, id: described(strawberry.ID, "Id of the option to delete.")
    ) -> VariationOptionPayload | None:
        return await variation_option_result(
            lambda: resolve.delete_option(info.context, decode_id(id, "VariationOption"))
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description=(
            "Create a child product for every combination of the product's options, refresh "
            "the existing ones (SKU, slug, name, prices, descriptive fields) and delete those "
            "whose combination is gone. Running it again never duplicates a child."
        ),
    )
    async def product_children_build(
        self, info: StrawberryInfo, product_id: described(strawberry.ID, "The parent product.")
    ) -> ProductPayload | None:
        return await product_result(
            lambda: resolve.build_children(
                info.context, decode_id(product_id, "Product", ["productId"])
            )
        )

    # categories

    @strawberry.mutation(permission_classes=[IsAdmin], description="Create a category.")
    async def category_create(
        self, info: StrawberryInfo, input: described(CategoryInput, "The category's fields.")
    ) -> CategoryPayload | None:
        return await category_result(
            lambda: resolve.create_category(info.context, input_data(input))
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Change a category; moving it under its own descendant is INVALID.",
    )
    async def category_update(
        self,
        info: StrawberryInfo,
        id: described(strawberry.ID, "Id of the category to change."),
        input: described(CategoryInput, "The category's fields."),
    ) -> CategoryPayload | None:
        return await category_result(
            lambda: resolve.update_category(
                info.context, decode_id(id, "Category"), input_data(input)
            )
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description=(
            "Delete a category without sub-categories (IN_USE otherwise); its products stay."
        ),
    )
    async def category_delete(
        self, info: StrawberryInfo, id: described(strawberry.ID, "Id of the category to delete.")
    ) -> CategoryPayload | None:
        return await category_result(
            lambda: resolve.delete_category(info.context, decode_id(id, "Category"))
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description=(
            "Move many categories at once, all or nothing; a move that makes a cycle is "
            "INVALID. Sibling positions are renumbered 0, 1, 2, ..."
        ),
    )
    async def categories_reorder(
        self,
        info: StrawberryInfo,
        input: described(list[CategoryMoveInput], "The moves, applied together."),
    ) -> CategoriesPayload | None:
        async def run() -> dict[str, object]:
            moves = [input_data(move) for move in input]
            rows = await resolve.reorder_categories(info.context, moves)
            return {"categories": [Category.of(r) for r in rows]}

        return await mutate(CategoriesPayload, run)

    # brands and collections

    @strawberry.mutation(permission_classes=[IsAdmin], description="Create a brand.")
    async def brand_create(
        self, info: StrawberryInfo, input: described(BrandInput, "The brand's fields.")
    ) -> BrandPayload | None:
        return await brand_result(
            lambda: resolve.create_group(info.context, BrandRow, input_data(input))
        )

    @strawberry.mutation(permission_classes=[IsAdmin], description="Change a brand.")
    async def brand_update(
        self,
        info: StrawberryInfo,
        id: described(strawberry.ID, "Id of the brand to change."),
        input: described(BrandInput, "The brand's fields."),
    ) -> BrandPayload | None:
        return await brand_result(
            lambda: resolve.update_group(
                info.context, BrandRow, decode_id(id, "Brand"), input_data(input)
            )
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Delete a brand; its products stay, without a brand.",
    )
    async def brand_delete(
        self, info: StrawberryInfo, id: described(strawberry.ID, "Id of the brand to delete.")
    ) -> BrandPayload | None:
        return await brand_result(
            lambda: resolve.delete_group(info.context, BrandRow, decode_id(id, "Brand"))
        )

    @strawberry.mutation(permission_classes=[IsAdmin], description="Create a collection.")
    async def collection_create(
        self, info: StrawberryInfo, input: described(CollectionInput, "The collection's fields.")
    ) -> CollectionPayload | None:
        return await collection_result(
            lambda: resolve.create_group(info.context, CollectionRow, input_data(input))
        )

    @strawberry.mutation(permission_classes=[IsAdmin], description="Change a collection.")
    async def collection_update(
        self,
        info: StrawberryInfo,
        id: described(strawberry.ID, "Id of the collection to change."),
        input: described(CollectionInput, "The collection's fields."),
    ) -> CollectionPayload | None:
        return await collection_result(
            lambda: resolve.update_group(
                info.context, CollectionRow, decode_id(id, "Collection"), input_data(input)
            )
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Delete a collection; its products stay, outside it.",
    )
    async def collection_delete(
        self, info: StrawberryInfo, id: described(strawberry.ID, "Id of the collection to delete.")
    ) -> CollectionPayload | None:
        return await collection_result(
            lambda: resolve.delete_group(info.context, CollectionRow, decode_id(id, "Collection"))
        )

    # custom fields

    @strawberry.mutation(permission_classes=[IsAdmin], description="Define a custom field.")
    async def field_definition_create(
        self,
        info: StrawberryInfo,
        input: described(FieldDefinitionInput, "The field definition's fields."),
    ) -> FieldDefinitionPayload | None:
        return await field_definition_result(
            lambda: resolve.create_field_definition(info.context, input_data(input))
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Change a custom field's name, description, required flag or choices.",
    )
    async def field_definition_update(
        self,
        info: StrawberryInfo,
        id: described(strawberry.ID, "Id of the field definition to change."),
        input: described(FieldDefinitionInput, "The field definition's fields."),
    ) -> FieldDefinitionPayload | None:
        return await field_definition_result(
            lambda: resolve.update_field_definition(
                info.context, decode_id(id, "FieldDefinition"), input_data(input)
            )
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Delete a custom field; its values disappear from every record.",
    )
    async def field_definition_delete(
        self,
        info: StrawberryInfo,
        id: described(strawberry.ID, "Id of the field definition to delete."),
    ) -> FieldDefinitionPayload | None:
        return await field_definition_result(
            lambda: resolve.delete_field_definition(info.context, decode_id(id, "FieldDefinition"))
        )
