"""The demo catalog inserted on the first start (when no product was ever created), 1000 of each in stock."""

from __future__ import annotations

from .domain import NewProduct

DEMO_STOCK = 1000

DEMO_CATALOG: tuple[NewProduct, ...] = tuple(
    NewProduct(sku=sku, name=name, description=description, price_cents=price_cents, stock=DEMO_STOCK)
    for sku, name, description, price_cents in (
        ("MUG-CERAMIC-350", "Ceramic mug", "A 350 ml stoneware mug, dishwasher safe.", 1290),
        ("TEE-ORGANIC-M", "Organic cotton T-shirt", "Plain crew-neck T-shirt, size M, 100% organic cotton.", 1990),
        ("HOODIE-GREY-L", "Grey hoodie", "Heavyweight hooded sweatshirt with a kangaroo pocket, size L.", 4990),
        ("BOTTLE-STEEL-750", "Steel water bottle", "Insulated 750 ml bottle: cold for 24 hours, hot for 12.", 2490),
        ("NOTEBOOK-A5-DOT", "Dotted notebook A5", "192 numbered pages of 100 g/m² paper, lay-flat binding.", 1450),
        ("PEN-GEL-BLACK-3", "Gel pens, black (3)", "Three 0.5 mm gel pens with quick-drying ink.", 690),
        ("TOTE-CANVAS", "Canvas tote bag", "Sturdy 12 oz canvas tote with an inner pocket.", 1590),
        ("COFFEE-BEANS-1KG", "Espresso beans 1 kg", "Medium-dark roast, notes of cocoa and hazelnut.", 2290),
        ("TEA-GREEN-100G", "Sencha green tea 100 g", "Loose-leaf Japanese sencha in a resealable tin.", 990),
        ("SOCKS-WOOL-3", "Merino socks (3 pairs)", "Breathable merino wool blend, sizes 39-42.", 2190),
        ("CAP-BASEBALL", "Baseball cap", "Six-panel washed cotton cap with an adjustable strap.", 1790),
        ("STICKERS-PACK", "Sticker pack", "Ten weatherproof vinyl stickers.", 490),
    )
)
