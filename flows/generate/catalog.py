"""The product catalog, read from the dbt seed so the generator and the models share one source.

Orders, product views and upgrades are drawn from `dbt_project/seeds/products.csv`; nothing here
duplicates it. Arrays are indexed by catalog row, which is what the vectorised simulation needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from flows.settings import DBT_PROJECT_DIR

PRODUCTS_CSV = DBT_PROJECT_DIR / "seeds" / "products.csv"

# How popular each category is as the main item of an order (unknown categories get the mean).
CATEGORY_WEIGHT = {"footwear": 0.3, "apparel": 0.25, "packs": 0.2, "electronics": 0.1, "accessories": 0.15}
# Entry tiers sell more than premium ones.
TIER_WEIGHT = {1: 0.6, 2: 0.3, 3: 0.1}


@dataclass(frozen=True)
class Catalog:
    frame: pl.DataFrame  # product_id, sku, name, category, tier, price, upgrade_to_product_id
    price: np.ndarray  # float, per product
    tier: np.ndarray  # int, per product
    category: np.ndarray  # int category index, per product
    upgrade: np.ndarray  # product index of the next tier, -1 when none
    categories: list[str]
    category_weight: np.ndarray  # normalised, per category
    pick_cum: np.ndarray  # [category, k] cumulative probability over `pick_products`
    pick_products: np.ndarray  # [category, k] product index (padded with the last one)
    accessory: int  # category index used for add-ons

    @property
    def size(self) -> int:
        return len(self.price)

    def draw_in_category(self, rng: np.random.Generator, cats: np.ndarray) -> np.ndarray:
        """One tier-weighted product per requested category (vectorised)."""
        u = rng.random(len(cats))
        k = (u[:, None] > self.pick_cum[cats]).sum(axis=1)
        k = np.minimum(k, self.pick_cum.shape[1] - 1)
        return self.pick_products[cats, k]

    def draw_category(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.choice(len(self.categories), size=n, p=self.category_weight)


def load_catalog(path: Path = PRODUCTS_CSV) -> Catalog:
    df = pl.read_csv(path, schema_overrides={"upgrade_to_product_id": pl.String, "price": pl.Float64})
    if df.is_empty():
        raise ValueError(f"product catalog {path} is empty")
    ids = df["product_id"].to_list()
    index = {pid: i for i, pid in enumerate(ids)}
    categories = sorted(set(df["category"].to_list()), key=lambda c: (-CATEGORY_WEIGHT.get(c, 0.0), c))
    cat_index = {c: i for i, c in enumerate(categories)}
    category = np.array([cat_index[c] for c in df["category"].to_list()], dtype=np.int64)
    tier = df["tier"].to_numpy().astype(np.int64)
    upgrade = np.array([index.get(u, -1) if u else -1 for u in df["upgrade_to_product_id"].to_list()])
    mean_w = float(np.mean(list(CATEGORY_WEIGHT.values())))
    cw = np.array([CATEGORY_WEIGHT.get(c, mean_w) for c in categories])
    width = int(np.bincount(category).max())
    pick_cum = np.ones((len(categories), width))
    pick_products = np.zeros((len(categories), width), dtype=np.int64)
    for c in range(len(categories)):
        members = np.flatnonzero(category == c)
        w = np.array([TIER_WEIGHT.get(int(t), 0.05) for t in tier[members]])
        pick_cum[c, : len(members)] = np.cumsum(w / w.sum())
        pick_cum[c, len(members) - 1 :] = 1.0
        pick_products[c, : len(members)] = members
        pick_products[c, len(members) :] = members[-1]
    accessory = cat_index.get("accessories", len(categories) - 1)
    return Catalog(
        frame=df,
        price=df["price"].to_numpy(),
        tier=tier,
        category=category,
        upgrade=upgrade,
        categories=categories,
        category_weight=cw / cw.sum(),
        pick_cum=pick_cum,
        pick_products=pick_products,
        accessory=accessory,
    )
