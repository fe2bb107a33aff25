-- Do harder tasks get more experts? Accuracy and experts per token by task difficulty, per router.
SELECT s.router, s.knobs, d.task, d.difficulty, round(avg(d.accuracy), 3) AS accuracy, round(avg(d.mean_experts_per_token), 3) AS experts
FROM usage_by_difficulty d JOIN run_summary s ON s.run_id = d.run_id
GROUP BY s.router, s.knobs, d.task, d.difficulty ORDER BY s.router, s.knobs, d.task, d.difficulty;
