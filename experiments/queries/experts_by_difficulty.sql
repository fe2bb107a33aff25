-- Do harder tasks get more experts? Accuracy and experts per token by task difficulty, per sweep and router.
SELECT sweep, router, knobs, task, difficulty, round(avg(accuracy), 3) AS accuracy,
       round(avg(mean_experts_per_token), 3) AS experts, round(avg(answer_experts_per_token), 3) AS answer_experts
FROM usage_by_difficulty
GROUP BY sweep, router, knobs, task, difficulty ORDER BY sweep, router, knobs, task, difficulty;
