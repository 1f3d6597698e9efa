"""Smoke test of an installed wheel in a clean venv: import, sandbox, one report per provider."""

import appstats as aps

with aps.Sandbox(seed=1) as sb:
    b = sb.baidu().source("2024-03-01", "2024-03-31", progress=False)
    m = sb.mta().user_basic("2024-03-01", "2024-03-31", progress=False)
    t = sb.tim().app_info(progress=False)
assert b.height > 0 and m.height == 31 and t.height == 30, (b.shape, m.shape, t.shape)
print(f"appstats {aps.__version__} wheel OK: baidu {b.shape}, mta {m.shape}, tim {t.shape}")
