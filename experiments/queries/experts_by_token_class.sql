-- Content words vs function words vs punctuation: experts per token, over all MoE layers.
SELECT s.router, s.knobs, c.token_class, sum(c.tokens) AS tokens,
       round(sum(c.tokens * c.mean_experts_per_token) / sum(c.tokens), 3) AS experts
FROM usage_by_token_class c JOIN run_summary s ON s.run_id = c.run_id
GROUP BY s.router, s.knobs, c.token_class ORDER BY s.router, s.knobs, experts DESC;
