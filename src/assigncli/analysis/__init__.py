"""Analysis of plans: naive baselines, plan metrics, and side-by-side comparison."""
