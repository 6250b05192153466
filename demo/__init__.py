"""A deterministic, realistic demo portfolio for the embedded install and for screenshots.

`demo_portfolio_seed` plans everything first from `random.Random(seed)` (catalog, version
and deployment history, incidents), writes the catalog, the registries' ledger, training
runs and dataset profiles through the same services the API uses, then simulates serving
traffic endpoint by endpoint with numpy Generators seeded from (seed, endpoint name), so
the same `now` and `seed` always give the same rows. Volumes are scaled down from real life
(a nightly batch job scores hundreds of rows here, not millions) so the whole thing fits in
SQLite in under a minute; the shapes, ratios and stories are what matter.

specs (what the portfolio holds) -> plan (history, decided up front) -> rows (catalog),
datasets (profiled uploads), ledger, training, traffic + inputs -> events, labels; seed
orchestrates; users makes the demo users.

Its own app, not part of `ingestion/`: the write path stays the write path, and the
seeder only calls it. Import from the modules (`demo.seed`, `demo.users`, `demo.specs`);
this package imports nothing, so Django can load the app before the models are ready.
"""
