-- Every failed or skipped run with its error, exit code and attempt.
SELECT r.run_id, sr.sweep, r.router, r.knobs, r.seed, r.status, r.attempt, r.exit_code, r.error
FROM runs r JOIN sweep_runs sr ON sr.run_id = r.run_id
WHERE r.status IN ('failed', 'skipped') ORDER BY sr.sweep, r.router;
