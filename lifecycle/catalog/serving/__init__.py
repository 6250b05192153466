"""The serving read model: the one way any phase reads the serving rollups.

The rollup tables (`ServingRollup`, `LatencyRollup`, `UptimeRollup`) are catalog models;
this package holds everything that reads them, once:

- `buckets`: the time buckets (hour, day, week from Monday, UTC) the rollups are cut into;
  the rollup writer and the readers floor and ceil times with the same two functions.
- `histograms`: the mergeable latency histogram stored in each latency rollup.
- `filtersets`: the shared serving filter dimensions (model, industry, serving mode, team,
  version, endpoint) on the rollup tables.
- `scope`: what a request selects and how its window is cut into parts read at the
  coarsest granularity that fits (week, day and hour rollups, raw events at the edges).
- `sums`: counts, errors per failure class, cost and merged histograms over a scope.
- `series`: the same over time, for charts: per minute (raw), 5 minutes, hour or day.
- `uptime`: uptime's minutes with traffic and with a system-class error, per model.

Its modules are imported by name (`from lifecycle.catalog.serving.sums import ...`):
this file imports none of them, so that `lifecycle.catalog.windows` can use the buckets
while the scope, which reads time ranges, is still loading.
"""
