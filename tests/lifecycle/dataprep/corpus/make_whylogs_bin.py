# Makes tests/lifecycle/dataprep/corpus/whylogs_transactions.bin (run with a whylogs on numpy<2).
import numpy as np
import pandas as pd
import whylogs as why

rng = np.random.default_rng(7)
n = 2000
df = pd.DataFrame(
    {
        "amount": rng.normal(50, 10, n).round(2),
        "merchant": rng.choice(["shop", "fuel", "food"], n, p=[0.5, 0.3, 0.2]),
        "is_fraud": rng.choice([True, False], n, p=[0.05, 0.95]),
        "note": [None] * 100 + ["ok"] * (n - 100),
    }
)
df.loc[:49, "amount"] = np.nan
why.log(df).view().write("/work/main/tests/lifecycle/dataprep/corpus/whylogs_transactions.bin")
print(df.describe(include="all"))
