-- The results store: every table and view, in one file. Documented in docs/results.md.
-- Migrations are numbered; on open, every migration above PRAGMA user_version runs in one
-- transaction, and then the views (the section at the end) are dropped and created again.
-- Contracts kept stable for users and scripts: runs (a view since migration 5), expert_usage, run_summary,
-- usage_by_layer, usage_by_difficulty, usage_by_token_class (columns may be added, never removed or renamed).

-- migration: 1
CREATE TABLE sweeps (
  name        TEXT PRIMARY KEY,
  description TEXT NOT NULL DEFAULT '',
  spec_path   TEXT NOT NULL,
  spec_text   TEXT NOT NULL,
  spec_hash   TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL
);

-- One row per distinct configuration: run_id = config_hash, so a configuration planned by two
-- sweeps is one run, computed once (sweep = the first sweep that planned it; see sweep_runs).
CREATE TABLE runs (
  run_id          TEXT PRIMARY KEY,
  sweep           TEXT NOT NULL REFERENCES sweeps(name),
  config_hash     TEXT NOT NULL UNIQUE,
  group_hash      TEXT NOT NULL,
  base_hash       TEXT NOT NULL,
  router          TEXT NOT NULL,
  knobs           TEXT NOT NULL,
  curriculum      TEXT NOT NULL,
  pretrain_k      INTEGER NOT NULL,
  seed            INTEGER NOT NULL,
  status          TEXT NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'running', 'completed', 'failed', 'skipped')),
  attempt         INTEGER NOT NULL DEFAULT 0,
  config_json     TEXT NOT NULL,
  error           TEXT,
  exit_code       INTEGER,
  stderr_tail     TEXT,
  lease_owner     TEXT,
  lease_expires   REAL,
  created_at      TEXT NOT NULL,
  started_at      TEXT,
  finished_at     TEXT,
  provenance_json TEXT,
  -- The headline metrics, copied from final_metrics at ingest (same transaction) so that
  -- run_summary is one scan of runs even over tens of thousands of runs.
  eval_loss              REAL,
  perplexity             REAL,
  accuracy               REAL,
  mean_experts_per_token REAL,
  flops_per_token        REAL
);
CREATE INDEX runs_sweep ON runs(sweep);
CREATE INDEX runs_base ON runs(base_hash, router);

CREATE TABLE sweep_runs (
  sweep     TEXT NOT NULL REFERENCES sweeps(name),
  run_id    TEXT NOT NULL REFERENCES runs(run_id),
  axes_json TEXT NOT NULL,
  PRIMARY KEY (sweep, run_id)
);

-- Pretrained base models, shared by every run with the same model/data/pretrain/seed.
CREATE TABLE bases (
  base_hash         TEXT PRIMARY KEY,
  status            TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'running', 'completed', 'failed', 'skipped')),
  attempt           INTEGER NOT NULL DEFAULT 0,
  config_json       TEXT NOT NULL,
  checkpoint_path   TEXT,
  checkpoint_sha256 TEXT,
  error             TEXT,
  exit_code         INTEGER,
  stderr_tail       TEXT,
  lease_owner       TEXT,
  lease_expires     REAL,
  created_at        TEXT NOT NULL,
  started_at        TEXT,
  finished_at       TEXT,
  provenance_json   TEXT
);

-- Typed parameters, one row per configuration key.
CREATE TABLE params (
  run_id     TEXT NOT NULL REFERENCES runs(run_id),
  key        TEXT NOT NULL,
  type       TEXT NOT NULL CHECK (type IN ('int', 'float', 'bool', 'string')),
  value_int  INTEGER,
  value_real REAL,
  value_text TEXT,
  PRIMARY KEY (run_id, key)
);

-- Per-step metrics of a job: job_id is a run_id or 'base:' || base_hash (phase pretrain).
CREATE TABLE metrics (
  job_id       TEXT NOT NULL,
  phase        TEXT NOT NULL,
  key          TEXT NOT NULL,
  step         INTEGER NOT NULL,
  value        REAL,
  wall_seconds REAL,
  PRIMARY KEY (job_id, phase, key, step)
);

CREATE TABLE final_metrics (
  run_id TEXT NOT NULL REFERENCES runs(run_id),
  key    TEXT NOT NULL,
  value  REAL,
  PRIMARY KEY (run_id, key)
);

CREATE TABLE task_results (
  run_id                 TEXT NOT NULL REFERENCES runs(run_id),
  task                   TEXT NOT NULL,
  difficulty             INTEGER NOT NULL,
  samples                INTEGER NOT NULL,
  correct                INTEGER NOT NULL,
  accuracy               REAL NOT NULL,
  answer_loss            REAL,
  mean_experts_per_token REAL,
  PRIMARY KEY (run_id, task, difficulty)
);

CREATE TABLE expert_usage (
  run_id                TEXT NOT NULL REFERENCES runs(run_id),
  layer                 INTEGER NOT NULL,
  expert                INTEGER NOT NULL,
  tokens                INTEGER NOT NULL,
  share                 REAL NOT NULL,
  mean_gate_probability REAL,
  PRIMARY KEY (run_id, layer, expert)
);

CREATE TABLE routing_stats (
  run_id                 TEXT NOT NULL REFERENCES runs(run_id),
  layer                  INTEGER NOT NULL,
  tokens                 INTEGER NOT NULL,
  mean_experts_per_token REAL NOT NULL,
  experts_histogram      TEXT NOT NULL,   -- JSON array: tokens that used 0, 1, …, N experts
  null_rate              REAL,
  all_null_rate          REAL,
  entropy                REAL,
  margin                 REAL,
  balance_loss           REAL,
  z_loss                 REAL,
  entropy_loss           REAL,
  PRIMARY KEY (run_id, layer)
);

CREATE TABLE token_class_usage (
  run_id                 TEXT NOT NULL REFERENCES runs(run_id),
  layer                  INTEGER NOT NULL,
  token_class            TEXT NOT NULL,
  tokens                 INTEGER NOT NULL,
  mean_experts_per_token REAL NOT NULL,
  PRIMARY KEY (run_id, layer, token_class)
);

CREATE TABLE word_usage (
  run_id                 TEXT NOT NULL REFERENCES runs(run_id),
  word                   TEXT NOT NULL,
  token_class            TEXT NOT NULL,
  tokens                 INTEGER NOT NULL,
  mean_experts_per_token REAL NOT NULL,
  PRIMARY KEY (run_id, word)
);

CREATE TABLE events (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id  TEXT NOT NULL,
  time    TEXT NOT NULL,
  kind    TEXT NOT NULL,
  message TEXT NOT NULL,
  step    INTEGER
);
CREATE INDEX events_job ON events(job_id);

CREATE TABLE artifacts (
  job_id TEXT NOT NULL,
  path   TEXT NOT NULL,
  kind   TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size   INTEGER NOT NULL,
  PRIMARY KEY (job_id, path)
);

-- migration: 2
-- Wall time of the job that produced a run, filled in at ingest.
ALTER TABLE runs ADD COLUMN duration_seconds REAL;

-- migration: 3
-- The job graph is pretrain → fine-tune → evaluate. A fine-tuned model is keyed by the hash of every
-- configuration key except the evaluation-only ones (RunConfig.EvalOnlyKeys), so runs that differ
-- only in evaluation settings share it, and an evaluation re-runs without retraining.
CREATE TABLE finetunes (
  finetune_hash     TEXT PRIMARY KEY,
  base_hash         TEXT NOT NULL,
  status            TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'running', 'completed', 'failed', 'skipped')),
  attempt           INTEGER NOT NULL DEFAULT 0,
  config_json       TEXT NOT NULL,
  checkpoint_path   TEXT,
  checkpoint_sha256 TEXT,
  error             TEXT,
  exit_code         INTEGER,
  stderr_tail       TEXT,
  lease_owner       TEXT,
  lease_expires     REAL,
  created_at        TEXT NOT NULL,
  started_at        TEXT,
  finished_at       TEXT,
  provenance_json   TEXT
);
-- NULL for runs stored before migration 3 (their fine-tuning metrics are under job_id = run_id).
ALTER TABLE runs ADD COLUMN finetune_hash TEXT;
CREATE INDEX runs_finetune ON runs(finetune_hash);

-- migration: 4
-- The executor's name for a job's latest attempt: "local:PID" or "slurm:JOBID_TASK". A resumed sweep
-- follows a SLURM job that is still queued or running instead of submitting it again.
ALTER TABLE runs ADD COLUMN executor_job_id TEXT;
ALTER TABLE finetunes ADD COLUMN executor_job_id TEXT;
ALTER TABLE bases ADD COLUMN executor_job_id TEXT;

-- migration: 5
-- The job, first-class: one row per job of the graph (pretrain a base, fine-tune it, evaluate a run)
-- holding its whole lifecycle — state, attempts, lease, executor id, exit code, error, times,
-- provenance. run_records, base_records and finetune_records keep only their own data; `runs`, `bases`
-- and `finetunes` are views with the columns they always had (the record joined to its job).
CREATE TABLE jobs (
  job_id          TEXT PRIMARY KEY,       -- 'base:' || base_hash, 'finetune:' || finetune_hash, or the run id
  kind            TEXT NOT NULL CHECK (kind IN ('pretrain', 'finetune', 'evaluate')),
  subject         TEXT NOT NULL,          -- the base hash, fine-tune hash or run id the job produces
  state           TEXT NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'running', 'completed', 'failed', 'skipped')),
  attempt         INTEGER NOT NULL DEFAULT 0,
  lease_owner     TEXT,
  lease_expires   REAL,
  executor_job_id TEXT,                   -- "local:PID" or "slurm:JOBID_TASK" of the latest attempt
  exit_code       INTEGER,
  error           TEXT,
  stderr_tail     TEXT,
  created_at      TEXT NOT NULL,
  started_at      TEXT,
  finished_at     TEXT,
  provenance_json TEXT,
  UNIQUE (kind, subject)
);
INSERT INTO jobs(job_id, kind, subject, state, attempt, lease_owner, lease_expires, executor_job_id, exit_code, error,
                 stderr_tail, created_at, started_at, finished_at, provenance_json)
SELECT 'base:' || base_hash, 'pretrain', base_hash, status, attempt, lease_owner, lease_expires, executor_job_id,
       exit_code, error, stderr_tail, created_at, started_at, finished_at, provenance_json FROM bases
UNION ALL
SELECT 'finetune:' || finetune_hash, 'finetune', finetune_hash, status, attempt, lease_owner, lease_expires,
       executor_job_id, exit_code, error, stderr_tail, created_at, started_at, finished_at, provenance_json
FROM finetunes
UNION ALL
SELECT run_id, 'evaluate', run_id, status, attempt, lease_owner, lease_expires, executor_job_id,
       exit_code, error, stderr_tail, created_at, started_at, finished_at, provenance_json FROM runs;

ALTER TABLE runs RENAME TO run_records;
ALTER TABLE run_records DROP COLUMN status;
ALTER TABLE run_records DROP COLUMN attempt;
ALTER TABLE run_records DROP COLUMN error;
ALTER TABLE run_records DROP COLUMN exit_code;
ALTER TABLE run_records DROP COLUMN stderr_tail;
ALTER TABLE run_records DROP COLUMN lease_owner;
ALTER TABLE run_records DROP COLUMN lease_expires;
ALTER TABLE run_records DROP COLUMN started_at;
ALTER TABLE run_records DROP COLUMN finished_at;
ALTER TABLE run_records DROP COLUMN provenance_json;
ALTER TABLE run_records DROP COLUMN executor_job_id;
ALTER TABLE bases RENAME TO base_records;
ALTER TABLE finetunes RENAME TO finetune_records;
ALTER TABLE base_records DROP COLUMN status;
ALTER TABLE base_records DROP COLUMN attempt;
ALTER TABLE base_records DROP COLUMN error;
ALTER TABLE base_records DROP COLUMN exit_code;
ALTER TABLE base_records DROP COLUMN stderr_tail;
ALTER TABLE base_records DROP COLUMN lease_owner;
ALTER TABLE base_records DROP COLUMN lease_expires;
ALTER TABLE base_records DROP COLUMN started_at;
ALTER TABLE base_records DROP COLUMN finished_at;
ALTER TABLE base_records DROP COLUMN provenance_json;
ALTER TABLE base_records DROP COLUMN executor_job_id;
ALTER TABLE finetune_records DROP COLUMN status;
ALTER TABLE finetune_records DROP COLUMN attempt;
ALTER TABLE finetune_records DROP COLUMN error;
ALTER TABLE finetune_records DROP COLUMN exit_code;
ALTER TABLE finetune_records DROP COLUMN stderr_tail;
ALTER TABLE finetune_records DROP COLUMN lease_owner;
ALTER TABLE finetune_records DROP COLUMN lease_expires;
ALTER TABLE finetune_records DROP COLUMN started_at;
ALTER TABLE finetune_records DROP COLUMN finished_at;
ALTER TABLE finetune_records DROP COLUMN provenance_json;
ALTER TABLE finetune_records DROP COLUMN executor_job_id;

-- migration: 6
-- Evidence. Per-item evaluation results, for paired statistics: task items are drawn from the run's seed,
-- so every run on a base and seed scores the same (task, difficulty, item); held-out text windows are
-- items of task 'text' (difficulty 0, correct NULL). Experts per token on the answer's positions (those
-- whose predictions are the answer tokens) beside the whole sequence's; per token class within each task
-- and difficulty; and the findings: each published claim checked with an interval and a verdict.
CREATE TABLE item_results (
  run_id           TEXT NOT NULL REFERENCES run_records(run_id),
  task             TEXT NOT NULL,
  difficulty       INTEGER NOT NULL,
  item             INTEGER NOT NULL,       -- index within (task, difficulty), in generation or file order
  correct          INTEGER,                -- 1/0: exact match (tasks), the likeliest choice (multiple choice)
  answer_logprob   REAL,                   -- Σ log p(answer tokens | prompt); text: Σ over the window
  answer_tokens    INTEGER NOT NULL,
  answer_experts   REAL,                   -- real experts per answer position, averaged over MoE layers
  sequence_experts REAL,                   -- the same over every position of the sequence
  PRIMARY KEY (run_id, task, difficulty, item)
);

ALTER TABLE task_results ADD COLUMN answer_experts_per_token REAL;

CREATE TABLE task_class_usage (
  run_id                 TEXT NOT NULL REFERENCES run_records(run_id),
  task                   TEXT NOT NULL,
  difficulty             INTEGER NOT NULL,
  token_class            TEXT NOT NULL,
  tokens                 INTEGER NOT NULL,
  mean_experts_per_token REAL,
  PRIMARY KEY (run_id, task, difficulty, token_class)
);

-- One row per claim and configuration of a sweep, recomputed from the rows above after every sweep and
-- report. The verdict follows from the 95% interval alone: 'supported' when it excludes the null value on
-- the claimed side, 'contradicted' when it excludes it on the other side, 'inconclusive' when it spans it.
CREATE TABLE finding_records (
  sweep       TEXT NOT NULL,
  claim       TEXT NOT NULL,      -- e.g. accuracy_vs_top_k
  subject     TEXT NOT NULL,      -- the configuration, e.g. 'top_p {"p":0.4}', or '' for a sweep-wide claim
  statement   TEXT NOT NULL,      -- the claim in words, as its paper makes it
  source      TEXT NOT NULL,      -- the paper(s)
  metric      TEXT NOT NULL,      -- what `effect` measures, and its unit
  effect      REAL,
  ci_low      REAL,
  ci_high     REAL,
  null_value  REAL NOT NULL,      -- the effect under no difference (0, or 1 for ratios)
  n           INTEGER NOT NULL,   -- observations behind the interval (item pairs, seeds, runs)
  seeds       INTEGER NOT NULL,
  method      TEXT NOT NULL,      -- paired bootstrap, t, OLS slope, …
  verdict     TEXT NOT NULL CHECK (verdict IN ('supported', 'contradicted', 'inconclusive')),
  comparisons INTEGER NOT NULL,   -- intervals computed for this sweep, each at 95%
  context     TEXT,               -- what the effect should be read beside (e.g. the FLOPs ratio)
  run_ids     TEXT NOT NULL,      -- JSON list of the runs it was computed from
  computed_at TEXT NOT NULL,
  PRIMARY KEY (sweep, claim, subject)
);

-- migration: 7
-- Every run is a member of the sweep that first planned it (views join through sweep_runs). Swept values are
-- stored typed (numbers as numbers, booleans as booleans), as the run's params are; rows written before take
-- their types from those params.
INSERT OR IGNORE INTO sweep_runs(sweep, run_id, axes_json) SELECT sweep, run_id, '{}' FROM run_records;
UPDATE sweep_runs SET axes_json = (
  SELECT json_group_object(a.key, CASE p.type WHEN 'int' THEN p.value_int WHEN 'float' THEN p.value_real
                                    WHEN 'bool' THEN json(CASE p.value_int WHEN 1 THEN 'true' ELSE 'false' END)
                                    ELSE coalesce(p.value_text, a.value) END)
  FROM json_each(sweep_runs.axes_json) a
  LEFT JOIN params p ON p.run_id = sweep_runs.run_id AND p.key = a.key);

-- migration: 8
-- Routing health, as MoE training toolkits log it: load imbalance MaxVio = (max load − mean load) / mean load,
-- over the whole evaluation and averaged over its batches; the share of experts no token used; the entropy of
-- the load over experts / log N (1: uniform); and which experts tokens use together.
ALTER TABLE routing_stats ADD COLUMN max_vio REAL;
ALTER TABLE routing_stats ADD COLUMN max_vio_batch REAL;
ALTER TABLE routing_stats ADD COLUMN dead_experts REAL;
ALTER TABLE routing_stats ADD COLUMN usage_entropy REAL;
CREATE TABLE coactivation (
  run_id   TEXT NOT NULL REFERENCES run_records(run_id),
  layer    INTEGER NOT NULL,
  expert_a INTEGER NOT NULL,
  expert_b INTEGER NOT NULL,
  tokens   INTEGER NOT NULL,        -- tokens that used both experts (expert_a = expert_b: that used expert_a)
  PRIMARY KEY (run_id, layer, expert_a, expert_b)
);

-- migration: 9
-- The token-level view: for a fixed held-out sample (the first text window of the test split, the same tokens for
-- every run on a tokenizer), the experts each position used at each MoE layer.
CREATE TABLE token_routes (
  run_id   TEXT NOT NULL REFERENCES run_records(run_id),
  position INTEGER NOT NULL,
  layer    INTEGER NOT NULL,
  token    TEXT NOT NULL,          -- the token's text (bytes decoded as UTF-8)
  experts  TEXT NOT NULL,          -- JSON list of the real experts used, ascending
  PRIMARY KEY (run_id, position, layer)
);

-- migration: 10
-- Routing kept from the base model: per layer, the share of each token's top-k experts under the base (k = the
-- base's k) that the run's router still uses, on the first held-out batch (1: all kept).
ALTER TABLE routing_stats ADD COLUMN stability_from_base REAL;

-- views
-- Views users query: one row per sweep membership (a run planned by two sweeps appears under each), each with
-- sweep, router, knobs and seed, so that `WHERE sweep = '…'` needs no join. run_configs (every configuration
-- key as a column) is generated from the keys the stored runs have: ResultStore.RunConfigs.cs.
-- A run as users have always read it: its own data and its evaluation job's lifecycle.
CREATE VIEW runs AS
SELECT r.run_id, r.sweep, r.config_hash, r.group_hash, r.base_hash, r.router, r.knobs, r.curriculum, r.pretrain_k,
       r.seed, j.state AS status, j.attempt, r.config_json, j.error, j.exit_code, j.stderr_tail, j.lease_owner,
       j.lease_expires, r.created_at, j.started_at, j.finished_at, j.provenance_json, r.eval_loss, r.perplexity,
       r.accuracy, r.mean_experts_per_token, r.flops_per_token, r.duration_seconds, r.finetune_hash,
       j.executor_job_id
FROM run_records r JOIN jobs j ON j.job_id = r.run_id;

-- Pretrained base models and fine-tuned models, likewise: their records and their jobs' lifecycle.
CREATE VIEW bases AS
SELECT b.base_hash, j.state AS status, j.attempt, b.config_json, b.checkpoint_path, b.checkpoint_sha256, j.error,
       j.exit_code, j.stderr_tail, j.lease_owner, j.lease_expires, b.created_at, j.started_at, j.finished_at,
       j.provenance_json, j.executor_job_id
FROM base_records b JOIN jobs j ON j.job_id = 'base:' || b.base_hash;

CREATE VIEW finetunes AS
SELECT f.finetune_hash, f.base_hash, j.state AS status, j.attempt, f.config_json, f.checkpoint_path,
       f.checkpoint_sha256, j.error, j.exit_code, j.stderr_tail, j.lease_owner, j.lease_expires, f.created_at,
       j.started_at, j.finished_at, j.provenance_json, j.executor_job_id
FROM finetune_records f JOIN jobs j ON j.job_id = 'finetune:' || f.finetune_hash;

-- One row per run. speedup_vs_topk = FLOPs/token of the completed top-k run on the same base whose k
-- equals the base's k, divided by this run's FLOPs/token.
CREATE VIEW run_summary AS
WITH baseline AS (
  SELECT base_hash, avg(flops_per_token) AS flops_per_token
  FROM runs
  WHERE router = 'top_k' AND status = 'completed' AND json_extract(knobs, '$.k') = pretrain_k
  GROUP BY base_hash
)
SELECT r.run_id, sr.sweep, r.router, r.knobs, r.curriculum, r.seed, r.status,
       r.eval_loss, r.perplexity, r.accuracy, r.mean_experts_per_token, r.flops_per_token,
       b.flops_per_token / r.flops_per_token AS speedup_vs_topk,
       r.group_hash, r.config_hash, r.base_hash, r.attempt, r.finished_at, r.duration_seconds, sr.axes_json, r.error
FROM sweep_runs sr JOIN runs r ON r.run_id = sr.run_id
LEFT JOIN baseline b ON b.base_hash = r.base_hash;

-- Every per-step metric of a run: its fine-tuning job's (job_id 'finetune:' || finetune_hash) and
-- its own (evaluation; and fine-tuning for runs stored before migration 3).
CREATE VIEW run_metrics AS
SELECT r.run_id, m.phase, m.key, m.step, m.value, m.wall_seconds
FROM runs r JOIN metrics m ON m.job_id = 'finetune:' || r.finetune_hash
UNION ALL
SELECT m.job_id AS run_id, m.phase, m.key, m.step, m.value, m.wall_seconds
FROM metrics m WHERE m.job_id IN (SELECT run_id FROM runs);

-- Every event of a run, fine-tuning's included (curriculum, failures).
CREATE VIEW run_events AS
SELECT r.run_id, e.time, e.kind, e.message, e.step
FROM runs r JOIN events e ON e.job_id = 'finetune:' || r.finetune_hash
UNION ALL
SELECT e.job_id AS run_id, e.time, e.kind, e.message, e.step
FROM events e WHERE e.job_id IN (SELECT run_id FROM runs);

CREATE VIEW usage_by_layer AS
SELECT u.run_id, u.layer, u.mean_experts_per_token, u.null_rate, u.entropy, u.margin, u.tokens,
       sr.sweep, r.router, r.knobs, r.seed, u.max_vio, u.max_vio_batch, u.dead_experts, u.usage_entropy,
       u.stability_from_base
FROM routing_stats u JOIN sweep_runs sr ON sr.run_id = u.run_id JOIN run_records r ON r.run_id = u.run_id;

CREATE VIEW usage_by_difficulty AS
SELECT u.run_id, u.task, u.difficulty, u.accuracy, u.mean_experts_per_token, u.samples, u.answer_loss,
       u.answer_experts_per_token, sr.sweep, r.router, r.knobs, r.seed
FROM task_results u JOIN sweep_runs sr ON sr.run_id = u.run_id JOIN run_records r ON r.run_id = u.run_id;

-- The findings, in the order the report shows them.
CREATE VIEW findings AS
SELECT sweep, claim, subject, statement, effect, ci_low, ci_high, n, seeds, verdict, metric, method, null_value,
       comparisons, context, source, run_ids, computed_at
FROM finding_records
ORDER BY sweep, CASE verdict WHEN 'supported' THEN 0 WHEN 'contradicted' THEN 1 ELSE 2 END, claim, subject;

CREATE VIEW usage_by_token_class AS
SELECT u.run_id, u.layer, u.token_class, u.tokens, u.mean_experts_per_token, sr.sweep, r.router, r.knobs, r.seed
FROM token_class_usage u JOIN sweep_runs sr ON sr.run_id = u.run_id JOIN run_records r ON r.run_id = u.run_id;
