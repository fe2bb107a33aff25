-- Mean experts per token by layer for every completed run, with its router and knobs.
SELECT s.sweep, s.router, s.knobs, s.seed, u.layer, round(u.mean_experts_per_token, 3) AS experts, round(u.null_rate, 3) AS null_rate
FROM usage_by_layer u JOIN run_summary s ON s.run_id = u.run_id
WHERE s.status = 'completed'
ORDER BY s.sweep, s.router, s.knobs, s.seed, u.layer;
