-- Content words vs function words vs punctuation: experts per token, over all MoE layers, per sweep and router.
SELECT sweep, router, knobs, token_class, sum(tokens) AS tokens,
       round(sum(tokens * mean_experts_per_token) / sum(tokens), 3) AS experts
FROM usage_by_token_class
GROUP BY sweep, router, knobs, token_class ORDER BY sweep, router, knobs, experts DESC;
