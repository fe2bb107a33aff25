-- Mean experts per token by layer for every evaluated run, with its sweep, router and knobs.
SELECT sweep, router, knobs, seed, layer, round(mean_experts_per_token, 3) AS experts, round(null_rate, 3) AS null_rate
FROM usage_by_layer
ORDER BY sweep, router, knobs, seed, layer;
