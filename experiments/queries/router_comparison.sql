-- Each router configuration against its top-k baseline, per sweep: quality, experts and FLOPs, mean over seeds.
SELECT sweep, router, knobs, count(*) AS n, round(avg(accuracy), 4) AS accuracy, round(avg(eval_loss), 4) AS eval_loss,
       round(avg(mean_experts_per_token), 3) AS experts, round(avg(flops_per_token)) AS flops,
       round(avg(speedup_vs_topk), 3) AS speedup
FROM run_summary WHERE status = 'completed'
GROUP BY sweep, router, knobs ORDER BY sweep, router, knobs;
