-- A results database written by the release before the job ledger (commit ce62c3c, schema version 4):
-- `sqlite3 orchestrator.db .dump` after a tiny three-router sweep whose adaptive_gating evaluation failed
-- (ORCHESTRATOR_FAULT=6005c41c4f0482cd:throw). StoreTests loads it and migrates it.
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE sweeps (
  name        TEXT PRIMARY KEY,
  description TEXT NOT NULL DEFAULT '',
  spec_path   TEXT NOT NULL,
  spec_text   TEXT NOT NULL,
  spec_hash   TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL
);
INSERT INTO sweeps VALUES('tiny','','/tmp/fixture/tiny.yaml',replace('# file: /tmp/fixture/tiny.yaml\nname: tiny\nbase:\n  model: {layers: 2, d_model: 32, heads: 2, experts: 4, expert_hidden: 32, vocab_size: 300, context: 32}\n  data: {tasks: "addition,brackets", max_difficulty: 2}\n  pretrain: {steps: 12, batch_size: 4, eval_every: 0}\n  finetune: {steps: 6, batch_size: 4, eval_every: 0}\n  eval: {text_batches: 1, task_samples: 2, max_answer_tokens: 4}\nsweep:\n  router:\n    top_k: {k: 2}\n    top_p: {p: 0.4}\n    adaptive_gating: {threshold: 0.1}\n\n','\n',char(10)),'def3516537e5940f','2026-11-27T08:40:09.271Z','2026-11-27T08:40:09.271Z');
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
, duration_seconds REAL, finetune_hash TEXT, executor_job_id TEXT);
INSERT INTO runs VALUES('34331f0175b77966','tiny','34331f0175b77966','b063fedc7e33de09','91e4ea47c34015bf','top_k','{"k":2}','none',2,0,'completed',1,'{"data":{"corpus":"fortunes","max_difficulty":2,"multiple_choice":"","task_mix":0.3,"tasks":"addition,brackets","test_fraction":0.05,"valid_fraction":0.05},"device":"cpu","eval":{"collapse_share":0.9,"max_answer_tokens":4,"target_loss":0.0,"task_samples":2,"text_batches":1},"finetune":{"batch_size":4,"curriculum":"none","curriculum_pool":256,"eval_every":0,"grad_clip":1.0,"lora_rank":8,"lr":0.001,"mode":"full","pacing":"linear","steps":6,"text_mix":0.5,"warmup":10,"weight_decay":0.0},"model":{"context":32,"d_model":32,"expert_hidden":32,"experts":4,"heads":2,"layers":2,"moe_layers":"all","rope_theta":10000.0,"shared_experts":0,"vocab_size":300},"pretrain":{"batch_size":4,"eval_every":0,"grad_clip":1.0,"k":2,"lr":0.003,"steps":12,"warmup":30,"weight_decay":0.1},"router":{"balance_coef":0.01,"k":2,"type":"top_k","z_loss_coef":0.0},"seed":0,"threads":0}',NULL,0,NULL,NULL,NULL,'2026-11-27T08:40:09.271Z','2026-11-27T08:40:25.181Z','2026-11-27T08:40:33.562Z','{"git_commit":"ce62c3cbe990da445f0d71af7bccb4f135dbc1c6","git_dirty":"true","spec":"/tmp/fixture/tiny.yaml","config_json":"{\u0022data\u0022:{\u0022corpus\u0022:\u0022fortunes\u0022,\u0022max_difficulty\u0022:2,\u0022multiple_choice\u0022:\u0022\u0022,\u0022task_mix\u0022:0.3,\u0022tasks\u0022:\u0022addition,brackets\u0022,\u0022test_fraction\u0022:0.05,\u0022valid_fraction\u0022:0.05},\u0022device\u0022:\u0022cpu\u0022,\u0022eval\u0022:{\u0022collapse_share\u0022:0.9,\u0022max_answer_tokens\u0022:4,\u0022target_loss\u0022:0.0,\u0022task_samples\u0022:2,\u0022text_batches\u0022:1},\u0022finetune\u0022:{\u0022batch_size\u0022:4,\u0022curriculum\u0022:\u0022none\u0022,\u0022curriculum_pool\u0022:256,\u0022eval_every\u0022:0,\u0022grad_clip\u0022:1.0,\u0022lora_rank\u0022:8,\u0022lr\u0022:0.001,\u0022mode\u0022:\u0022full\u0022,\u0022pacing\u0022:\u0022linear\u0022,\u0022steps\u0022:6,\u0022text_mix\u0022:0.5,\u0022warmup\u0022:10,\u0022weight_decay\u0022:0.0},\u0022model\u0022:{\u0022context\u0022:32,\u0022d_model\u0022:32,\u0022expert_hidden\u0022:32,\u0022experts\u0022:4,\u0022heads\u0022:2,\u0022layers\u0022:2,\u0022moe_layers\u0022:\u0022all\u0022,\u0022rope_theta\u0022:10000.0,\u0022shared_experts\u0022:0,\u0022vocab_size\u0022:300},\u0022pretrain\u0022:{\u0022batch_size\u0022:4,\u0022eval_every\u0022:0,\u0022grad_clip\u0022:1.0,\u0022k\u0022:2,\u0022lr\u0022:0.003,\u0022steps\u0022:12,\u0022warmup\u0022:30,\u0022weight_decay\u0022:0.1},\u0022router\u0022:{\u0022balance_coef\u0022:0.01,\u0022k\u0022:2,\u0022type\u0022:\u0022top_k\u0022,\u0022z_loss_coef\u0022:0.0},\u0022seed\u0022:0,\u0022threads\u0022:0}","dotnet":".NET 10.0.12","torchsharp":"0.107.0","libtorch":"libtorch-cpu-linux-x64 2.10.0","device":"cpu (2 cores, 2 threads)","host":"vm","os":"Debian GNU/Linux 12 (bookworm)","command_line":"/tmp/old-build/orchestrator.dll sweep --spec /tmp/fixture/tiny.yaml --no-report","started_at":"2026-11-27T08:40:26.6583461Z","seed":"0","finetune_hash":"6ea17c1f7989ef1f","finished_at":"2026-11-27T08:40:32.5081858Z"}',5.4865198135375976562,241.41557197885268237,0.0,2.0,64896.0,15.721288400000000606,'6ea17c1f7989ef1f','local:10764');
INSERT INTO runs VALUES('06699423b5dc70e7','tiny','06699423b5dc70e7','f21813ec231bae31','91e4ea47c34015bf','top_p','{"entropy_coef":0.0001,"max_experts":0,"normalize":false,"p":0.4}','none',2,0,'completed',1,'{"data":{"corpus":"fortunes","max_difficulty":2,"multiple_choice":"","task_mix":0.3,"tasks":"addition,brackets","test_fraction":0.05,"valid_fraction":0.05},"device":"cpu","eval":{"collapse_share":0.9,"max_answer_tokens":4,"target_loss":0.0,"task_samples":2,"text_batches":1},"finetune":{"batch_size":4,"curriculum":"none","curriculum_pool":256,"eval_every":0,"grad_clip":1.0,"lora_rank":8,"lr":0.001,"mode":"full","pacing":"linear","steps":6,"text_mix":0.5,"warmup":10,"weight_decay":0.0},"model":{"context":32,"d_model":32,"expert_hidden":32,"experts":4,"heads":2,"layers":2,"moe_layers":"all","rope_theta":10000.0,"shared_experts":0,"vocab_size":300},"pretrain":{"batch_size":4,"eval_every":0,"grad_clip":1.0,"k":2,"lr":0.003,"steps":12,"warmup":30,"weight_decay":0.1},"router":{"balance_coef":0.01,"entropy_coef":0.0001,"max_experts":0,"normalize":false,"p":0.4,"type":"top_p","z_loss_coef":0.0},"seed":0,"threads":0}',NULL,0,NULL,NULL,NULL,'2026-11-27T08:40:09.271Z','2026-11-27T08:40:41.139Z','2026-11-27T08:40:50.524Z','{"git_commit":"ce62c3cbe990da445f0d71af7bccb4f135dbc1c6","git_dirty":"true","spec":"/tmp/fixture/tiny.yaml","config_json":"{\u0022data\u0022:{\u0022corpus\u0022:\u0022fortunes\u0022,\u0022max_difficulty\u0022:2,\u0022multiple_choice\u0022:\u0022\u0022,\u0022task_mix\u0022:0.3,\u0022tasks\u0022:\u0022addition,brackets\u0022,\u0022test_fraction\u0022:0.05,\u0022valid_fraction\u0022:0.05},\u0022device\u0022:\u0022cpu\u0022,\u0022eval\u0022:{\u0022collapse_share\u0022:0.9,\u0022max_answer_tokens\u0022:4,\u0022target_loss\u0022:0.0,\u0022task_samples\u0022:2,\u0022text_batches\u0022:1},\u0022finetune\u0022:{\u0022batch_size\u0022:4,\u0022curriculum\u0022:\u0022none\u0022,\u0022curriculum_pool\u0022:256,\u0022eval_every\u0022:0,\u0022grad_clip\u0022:1.0,\u0022lora_rank\u0022:8,\u0022lr\u0022:0.001,\u0022mode\u0022:\u0022full\u0022,\u0022pacing\u0022:\u0022linear\u0022,\u0022steps\u0022:6,\u0022text_mix\u0022:0.5,\u0022warmup\u0022:10,\u0022weight_decay\u0022:0.0},\u0022model\u0022:{\u0022context\u0022:32,\u0022d_model\u0022:32,\u0022expert_hidden\u0022:32,\u0022experts\u0022:4,\u0022heads\u0022:2,\u0022layers\u0022:2,\u0022moe_layers\u0022:\u0022all\u0022,\u0022rope_theta\u0022:10000.0,\u0022shared_experts\u0022:0,\u0022vocab_size\u0022:300},\u0022pretrain\u0022:{\u0022batch_size\u0022:4,\u0022eval_every\u0022:0,\u0022grad_clip\u0022:1.0,\u0022k\u0022:2,\u0022lr\u0022:0.003,\u0022steps\u0022:12,\u0022warmup\u0022:30,\u0022weight_decay\u0022:0.1},\u0022router\u0022:{\u0022balance_coef\u0022:0.01,\u0022entropy_coef\u0022:0.0001,\u0022max_experts\u0022:0,\u0022normalize\u0022:false,\u0022p\u0022:0.4,\u0022type\u0022:\u0022top_p\u0022,\u0022z_loss_coef\u0022:0.0},\u0022seed\u0022:0,\u0022threads\u0022:0}","dotnet":".NET 10.0.12","torchsharp":"0.107.0","libtorch":"libtorch-cpu-linux-x64 2.10.0","device":"cpu (2 cores, 2 threads)","host":"vm","os":"Debian GNU/Linux 12 (bookworm)","command_line":"/tmp/old-build/orchestrator.dll sweep --spec /tmp/fixture/tiny.yaml --no-report","started_at":"2026-11-27T08:40:42.2912784Z","seed":"0","finetune_hash":"81d0ac3319ae73ee","finished_at":"2026-11-27T08:40:49.9142639Z"}',5.4872727394104003906,241.59740845519664276,0.0,2.0,64896.0,15.313090600000000662,'81d0ac3319ae73ee','local:11003');
INSERT INTO runs VALUES('6005c41c4f0482cd','tiny','6005c41c4f0482cd','577d8e303ecae55a','91e4ea47c34015bf','adaptive_gating','{"normalize":true,"threshold":0.1}','none',2,0,'failed',1,'{"data":{"corpus":"fortunes","max_difficulty":2,"multiple_choice":"","task_mix":0.3,"tasks":"addition,brackets","test_fraction":0.05,"valid_fraction":0.05},"device":"cpu","eval":{"collapse_share":0.9,"max_answer_tokens":4,"target_loss":0.0,"task_samples":2,"text_batches":1},"finetune":{"batch_size":4,"curriculum":"none","curriculum_pool":256,"eval_every":0,"grad_clip":1.0,"lora_rank":8,"lr":0.001,"mode":"full","pacing":"linear","steps":6,"text_mix":0.5,"warmup":10,"weight_decay":0.0},"model":{"context":32,"d_model":32,"expert_hidden":32,"experts":4,"heads":2,"layers":2,"moe_layers":"all","rope_theta":10000.0,"shared_experts":0,"vocab_size":300},"pretrain":{"batch_size":4,"eval_every":0,"grad_clip":1.0,"k":2,"lr":0.003,"steps":12,"warmup":30,"weight_decay":0.1},"router":{"balance_coef":0.01,"normalize":true,"threshold":0.1,"type":"adaptive_gating","z_loss_coef":0.0},"seed":0,"threads":0}','exit code 1: injected failure in job 6005c41c4f0482cd at start',1,replace('System.InvalidOperationException: injected failure in job 6005c41c4f0482cd at start\n   at Orchestrator.Execution.FaultInjection.At(String jobId, String place) in /work/main/src/Orchestrator.Execution/ParentDeath.cs:line 43\n   at Orchestrator.Execution.Worker.Main(String jobPath, TextWriter log) in /work/main/src/Orchestrator.Execution/Worker.cs:line 24\n   at Orchestrator.Cli.Cli.WorkerMain(String[] args) in /work/main/src/Orchestrator.Cli/Program.cs:line 297\nerror: injected failure in job 6005c41c4f0482cd at start\n','\n',char(10)),NULL,NULL,'2026-11-27T08:40:09.271Z','2026-11-27T08:41:00.476Z','2026-11-27T08:41:00.887Z',NULL,NULL,NULL,NULL,NULL,NULL,NULL,'05d0ebf4ef2ec5bc','local:11371');
CREATE TABLE sweep_runs (
  sweep     TEXT NOT NULL REFERENCES sweeps(name),
  run_id    TEXT NOT NULL REFERENCES runs(run_id),
  axes_json TEXT NOT NULL,
  PRIMARY KEY (sweep, run_id)
);
INSERT INTO sweep_runs VALUES('tiny','34331f0175b77966','{"router.type":"top_k","router.k":"2","seed":"0"}');
INSERT INTO sweep_runs VALUES('tiny','06699423b5dc70e7','{"router.type":"top_p","router.p":"0.4","seed":"0"}');
INSERT INTO sweep_runs VALUES('tiny','6005c41c4f0482cd','{"router.type":"adaptive_gating","router.threshold":"0.1","seed":"0"}');
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
, executor_job_id TEXT);
INSERT INTO bases VALUES('91e4ea47c34015bf','completed',1,'{"data":{"corpus":"fortunes","max_difficulty":2,"task_mix":0.3,"tasks":"addition,brackets","test_fraction":0.05,"valid_fraction":0.05},"model":{"context":32,"d_model":32,"expert_hidden":32,"experts":4,"heads":2,"layers":2,"moe_layers":"all","rope_theta":10000.0,"shared_experts":0,"vocab_size":300},"pretrain":{"batch_size":4,"eval_every":0,"grad_clip":1.0,"k":2,"lr":0.003,"steps":12,"warmup":30,"weight_decay":0.1},"seed":0}','/tmp/fixture/results/checkpoints/91e4ea47c34015bf/model.bin','97be04f630dd5d7c051fe3ac409dd3971ab7c07868f03839e31b2a981ae93aa3',NULL,0,NULL,NULL,NULL,'2026-11-27T08:40:09.325Z','2026-11-27T08:40:09.380Z','2026-11-27T08:40:15.589Z','{"git_commit":"ce62c3cbe990da445f0d71af7bccb4f135dbc1c6","git_dirty":"true","spec":"/tmp/fixture/tiny.yaml","config_json":"{\u0022data\u0022:{\u0022corpus\u0022:\u0022fortunes\u0022,\u0022max_difficulty\u0022:2,\u0022multiple_choice\u0022:\u0022\u0022,\u0022task_mix\u0022:0.3,\u0022tasks\u0022:\u0022addition,brackets\u0022,\u0022test_fraction\u0022:0.05,\u0022valid_fraction\u0022:0.05},\u0022device\u0022:\u0022cpu\u0022,\u0022eval\u0022:{\u0022collapse_share\u0022:0.9,\u0022max_answer_tokens\u0022:4,\u0022target_loss\u0022:0.0,\u0022task_samples\u0022:2,\u0022text_batches\u0022:1},\u0022finetune\u0022:{\u0022batch_size\u0022:4,\u0022curriculum\u0022:\u0022none\u0022,\u0022curriculum_pool\u0022:256,\u0022eval_every\u0022:0,\u0022grad_clip\u0022:1.0,\u0022lora_rank\u0022:8,\u0022lr\u0022:0.001,\u0022mode\u0022:\u0022full\u0022,\u0022pacing\u0022:\u0022linear\u0022,\u0022steps\u0022:6,\u0022text_mix\u0022:0.5,\u0022warmup\u0022:10,\u0022weight_decay\u0022:0.0},\u0022model\u0022:{\u0022context\u0022:32,\u0022d_model\u0022:32,\u0022expert_hidden\u0022:32,\u0022experts\u0022:4,\u0022heads\u0022:2,\u0022layers\u0022:2,\u0022moe_layers\u0022:\u0022all\u0022,\u0022rope_theta\u0022:10000.0,\u0022shared_experts\u0022:0,\u0022vocab_size\u0022:300},\u0022pretrain\u0022:{\u0022batch_size\u0022:4,\u0022eval_every\u0022:0,\u0022grad_clip\u0022:1.0,\u0022k\u0022:2,\u0022lr\u0022:0.003,\u0022steps\u0022:12,\u0022warmup\u0022:30,\u0022weight_decay\u0022:0.1},\u0022router\u0022:{\u0022balance_coef\u0022:0.01,\u0022k\u0022:2,\u0022type\u0022:\u0022top_k\u0022,\u0022z_loss_coef\u0022:0.0},\u0022seed\u0022:0,\u0022threads\u0022:0}","dotnet":".NET 10.0.12","torchsharp":"0.107.0","libtorch":"libtorch-cpu-linux-x64 2.10.0","device":"cpu (2 cores, 2 threads)","host":"vm","os":"Debian GNU/Linux 12 (bookworm)","command_line":"/tmp/old-build/orchestrator.dll sweep --spec /tmp/fixture/tiny.yaml --no-report","started_at":"2026-11-27T08:40:10.2197369Z","seed":"0","finished_at":"2026-11-27T08:40:15.1657991Z"}','local:10440');
CREATE TABLE params (
  run_id     TEXT NOT NULL REFERENCES runs(run_id),
  key        TEXT NOT NULL,
  type       TEXT NOT NULL CHECK (type IN ('int', 'float', 'bool', 'string')),
  value_int  INTEGER,
  value_real REAL,
  value_text TEXT,
  PRIMARY KEY (run_id, key)
);
INSERT INTO params VALUES('34331f0175b77966','data.corpus','string',NULL,NULL,'fortunes');
INSERT INTO params VALUES('34331f0175b77966','data.max_difficulty','int',2,2.0,'2');
INSERT INTO params VALUES('34331f0175b77966','data.multiple_choice','string',NULL,NULL,'');
INSERT INTO params VALUES('34331f0175b77966','data.task_mix','float',NULL,0.29999999999999998889,'0.3');
INSERT INTO params VALUES('34331f0175b77966','data.tasks','string',NULL,NULL,'addition,brackets');
INSERT INTO params VALUES('34331f0175b77966','data.test_fraction','float',NULL,0.050000000000000002775,'0.05');
INSERT INTO params VALUES('34331f0175b77966','data.valid_fraction','float',NULL,0.050000000000000002775,'0.05');
INSERT INTO params VALUES('34331f0175b77966','device','string',NULL,NULL,'cpu');
INSERT INTO params VALUES('34331f0175b77966','eval.collapse_share','float',NULL,0.9000000000000000222,'0.9');
INSERT INTO params VALUES('34331f0175b77966','eval.max_answer_tokens','int',4,4.0,'4');
INSERT INTO params VALUES('34331f0175b77966','eval.target_loss','float',NULL,0.0,'0');
INSERT INTO params VALUES('34331f0175b77966','eval.task_samples','int',2,2.0,'2');
INSERT INTO params VALUES('34331f0175b77966','eval.text_batches','int',1,1.0,'1');
INSERT INTO params VALUES('34331f0175b77966','finetune.batch_size','int',4,4.0,'4');
INSERT INTO params VALUES('34331f0175b77966','finetune.curriculum','string',NULL,NULL,'none');
INSERT INTO params VALUES('34331f0175b77966','finetune.curriculum_pool','int',256,256.0,'256');
INSERT INTO params VALUES('34331f0175b77966','finetune.eval_every','int',0,0.0,'0');
INSERT INTO params VALUES('34331f0175b77966','finetune.grad_clip','float',NULL,1.0,'1');
INSERT INTO params VALUES('34331f0175b77966','finetune.lora_rank','int',8,8.0,'8');
INSERT INTO params VALUES('34331f0175b77966','finetune.lr','float',NULL,0.0010000000000000000208,'0.001');
INSERT INTO params VALUES('34331f0175b77966','finetune.mode','string',NULL,NULL,'full');
INSERT INTO params VALUES('34331f0175b77966','finetune.pacing','string',NULL,NULL,'linear');
INSERT INTO params VALUES('34331f0175b77966','finetune.steps','int',6,6.0,'6');
INSERT INTO params VALUES('34331f0175b77966','finetune.text_mix','float',NULL,0.5,'0.5');
INSERT INTO params VALUES('34331f0175b77966','finetune.warmup','int',10,10.0,'10');
INSERT INTO params VALUES('34331f0175b77966','finetune.weight_decay','float',NULL,0.0,'0');
INSERT INTO params VALUES('34331f0175b77966','model.context','int',32,32.0,'32');
INSERT INTO params VALUES('34331f0175b77966','model.d_model','int',32,32.0,'32');
INSERT INTO params VALUES('34331f0175b77966','model.expert_hidden','int',32,32.0,'32');
INSERT INTO params VALUES('34331f0175b77966','model.experts','int',4,4.0,'4');
INSERT INTO params VALUES('34331f0175b77966','model.heads','int',2,2.0,'2');
INSERT INTO params VALUES('34331f0175b77966','model.layers','int',2,2.0,'2');
INSERT INTO params VALUES('34331f0175b77966','model.moe_layers','string',NULL,NULL,'all');
INSERT INTO params VALUES('34331f0175b77966','model.rope_theta','float',NULL,10000.0,'10000');
INSERT INTO params VALUES('34331f0175b77966','model.shared_experts','int',0,0.0,'0');
INSERT INTO params VALUES('34331f0175b77966','model.vocab_size','int',300,300.0,'300');
INSERT INTO params VALUES('34331f0175b77966','pretrain.batch_size','int',4,4.0,'4');
INSERT INTO params VALUES('34331f0175b77966','pretrain.eval_every','int',0,0.0,'0');
INSERT INTO params VALUES('34331f0175b77966','pretrain.grad_clip','float',NULL,1.0,'1');
INSERT INTO params VALUES('34331f0175b77966','pretrain.k','int',2,2.0,'2');
INSERT INTO params VALUES('34331f0175b77966','pretrain.lr','float',NULL,0.0030000000000000000624,'0.003');
INSERT INTO params VALUES('34331f0175b77966','pretrain.steps','int',12,12.0,'12');
INSERT INTO params VALUES('34331f0175b77966','pretrain.warmup','int',30,30.0,'30');
INSERT INTO params VALUES('34331f0175b77966','pretrain.weight_decay','float',NULL,0.10000000000000000555,'0.1');
INSERT INTO params VALUES('34331f0175b77966','router.balance_coef','float',NULL,0.010000000000000000208,'0.01');
INSERT INTO params VALUES('34331f0175b77966','router.k','int',2,2.0,'2');
INSERT INTO params VALUES('34331f0175b77966','router.type','string',NULL,NULL,'top_k');
INSERT INTO params VALUES('34331f0175b77966','router.z_loss_coef','float',NULL,0.0,'0');
INSERT INTO params VALUES('34331f0175b77966','seed','int',0,0.0,'0');
INSERT INTO params VALUES('34331f0175b77966','threads','int',0,0.0,'0');
INSERT INTO params VALUES('06699423b5dc70e7','data.corpus','string',NULL,NULL,'fortunes');
INSERT INTO params VALUES('06699423b5dc70e7','data.max_difficulty','int',2,2.0,'2');
INSERT INTO params VALUES('06699423b5dc70e7','data.multiple_choice','string',NULL,NULL,'');
INSERT INTO params VALUES('06699423b5dc70e7','data.task_mix','float',NULL,0.29999999999999998889,'0.3');
INSERT INTO params VALUES('06699423b5dc70e7','data.tasks','string',NULL,NULL,'addition,brackets');
INSERT INTO params VALUES('06699423b5dc70e7','data.test_fraction','float',NULL,0.050000000000000002775,'0.05');
INSERT INTO params VALUES('06699423b5dc70e7','data.valid_fraction','float',NULL,0.050000000000000002775,'0.05');
INSERT INTO params VALUES('06699423b5dc70e7','device','string',NULL,NULL,'cpu');
INSERT INTO params VALUES('06699423b5dc70e7','eval.collapse_share','float',NULL,0.9000000000000000222,'0.9');
INSERT INTO params VALUES('06699423b5dc70e7','eval.max_answer_tokens','int',4,4.0,'4');
INSERT INTO params VALUES('06699423b5dc70e7','eval.target_loss','float',NULL,0.0,'0');
INSERT INTO params VALUES('06699423b5dc70e7','eval.task_samples','int',2,2.0,'2');
INSERT INTO params VALUES('06699423b5dc70e7','eval.text_batches','int',1,1.0,'1');
INSERT INTO params VALUES('06699423b5dc70e7','finetune.batch_size','int',4,4.0,'4');
INSERT INTO params VALUES('06699423b5dc70e7','finetune.curriculum','string',NULL,NULL,'none');
INSERT INTO params VALUES('06699423b5dc70e7','finetune.curriculum_pool','int',256,256.0,'256');
INSERT INTO params VALUES('06699423b5dc70e7','finetune.eval_every','int',0,0.0,'0');
INSERT INTO params VALUES('06699423b5dc70e7','finetune.grad_clip','float',NULL,1.0,'1');
INSERT INTO params VALUES('06699423b5dc70e7','finetune.lora_rank','int',8,8.0,'8');
INSERT INTO params VALUES('06699423b5dc70e7','finetune.lr','float',NULL,0.0010000000000000000208,'0.001');
INSERT INTO params VALUES('06699423b5dc70e7','finetune.mode','string',NULL,NULL,'full');
INSERT INTO params VALUES('06699423b5dc70e7','finetune.pacing','string',NULL,NULL,'linear');
INSERT INTO params VALUES('06699423b5dc70e7','finetune.steps','int',6,6.0,'6');
INSERT INTO params VALUES('06699423b5dc70e7','finetune.text_mix','float',NULL,0.5,'0.5');
INSERT INTO params VALUES('06699423b5dc70e7','finetune.warmup','int',10,10.0,'10');
INSERT INTO params VALUES('06699423b5dc70e7','finetune.weight_decay','float',NULL,0.0,'0');
INSERT INTO params VALUES('06699423b5dc70e7','model.context','int',32,32.0,'32');
INSERT INTO params VALUES('06699423b5dc70e7','model.d_model','int',32,32.0,'32');
INSERT INTO params VALUES('06699423b5dc70e7','model.expert_hidden','int',32,32.0,'32');
INSERT INTO params VALUES('06699423b5dc70e7','model.experts','int',4,4.0,'4');
INSERT INTO params VALUES('06699423b5dc70e7','model.heads','int',2,2.0,'2');
INSERT INTO params VALUES('06699423b5dc70e7','model.layers','int',2,2.0,'2');
INSERT INTO params VALUES('06699423b5dc70e7','model.moe_layers','string',NULL,NULL,'all');
INSERT INTO params VALUES('06699423b5dc70e7','model.rope_theta','float',NULL,10000.0,'10000');
INSERT INTO params VALUES('06699423b5dc70e7','model.shared_experts','int',0,0.0,'0');
INSERT INTO params VALUES('06699423b5dc70e7','model.vocab_size','int',300,300.0,'300');
INSERT INTO params VALUES('06699423b5dc70e7','pretrain.batch_size','int',4,4.0,'4');
INSERT INTO params VALUES('06699423b5dc70e7','pretrain.eval_every','int',0,0.0,'0');
INSERT INTO params VALUES('06699423b5dc70e7','pretrain.grad_clip','float',NULL,1.0,'1');
INSERT INTO params VALUES('06699423b5dc70e7','pretrain.k','int',2,2.0,'2');
INSERT INTO params VALUES('06699423b5dc70e7','pretrain.lr','float',NULL,0.0030000000000000000624,'0.003');
INSERT INTO params VALUES('06699423b5dc70e7','pretrain.steps','int',12,12.0,'12');
INSERT INTO params VALUES('06699423b5dc70e7','pretrain.warmup','int',30,30.0,'30');
INSERT INTO params VALUES('06699423b5dc70e7','pretrain.weight_decay','float',NULL,0.10000000000000000555,'0.1');
INSERT INTO params VALUES('06699423b5dc70e7','router.balance_coef','float',NULL,0.010000000000000000208,'0.01');
INSERT INTO params VALUES('06699423b5dc70e7','router.entropy_coef','float',NULL,0.00010000000000000000479,'0.0001');
INSERT INTO params VALUES('06699423b5dc70e7','router.max_experts','int',0,0.0,'0');
INSERT INTO params VALUES('06699423b5dc70e7','router.normalize','bool',0,NULL,'false');
INSERT INTO params VALUES('06699423b5dc70e7','router.p','float',NULL,0.4000000000000000222,'0.4');
INSERT INTO params VALUES('06699423b5dc70e7','router.type','string',NULL,NULL,'top_p');
INSERT INTO params VALUES('06699423b5dc70e7','router.z_loss_coef','float',NULL,0.0,'0');
INSERT INTO params VALUES('06699423b5dc70e7','seed','int',0,0.0,'0');
INSERT INTO params VALUES('06699423b5dc70e7','threads','int',0,0.0,'0');
INSERT INTO params VALUES('6005c41c4f0482cd','data.corpus','string',NULL,NULL,'fortunes');
INSERT INTO params VALUES('6005c41c4f0482cd','data.max_difficulty','int',2,2.0,'2');
INSERT INTO params VALUES('6005c41c4f0482cd','data.multiple_choice','string',NULL,NULL,'');
INSERT INTO params VALUES('6005c41c4f0482cd','data.task_mix','float',NULL,0.29999999999999998889,'0.3');
INSERT INTO params VALUES('6005c41c4f0482cd','data.tasks','string',NULL,NULL,'addition,brackets');
INSERT INTO params VALUES('6005c41c4f0482cd','data.test_fraction','float',NULL,0.050000000000000002775,'0.05');
INSERT INTO params VALUES('6005c41c4f0482cd','data.valid_fraction','float',NULL,0.050000000000000002775,'0.05');
INSERT INTO params VALUES('6005c41c4f0482cd','device','string',NULL,NULL,'cpu');
INSERT INTO params VALUES('6005c41c4f0482cd','eval.collapse_share','float',NULL,0.9000000000000000222,'0.9');
INSERT INTO params VALUES('6005c41c4f0482cd','eval.max_answer_tokens','int',4,4.0,'4');
INSERT INTO params VALUES('6005c41c4f0482cd','eval.target_loss','float',NULL,0.0,'0');
INSERT INTO params VALUES('6005c41c4f0482cd','eval.task_samples','int',2,2.0,'2');
INSERT INTO params VALUES('6005c41c4f0482cd','eval.text_batches','int',1,1.0,'1');
INSERT INTO params VALUES('6005c41c4f0482cd','finetune.batch_size','int',4,4.0,'4');
INSERT INTO params VALUES('6005c41c4f0482cd','finetune.curriculum','string',NULL,NULL,'none');
INSERT INTO params VALUES('6005c41c4f0482cd','finetune.curriculum_pool','int',256,256.0,'256');
INSERT INTO params VALUES('6005c41c4f0482cd','finetune.eval_every','int',0,0.0,'0');
INSERT INTO params VALUES('6005c41c4f0482cd','finetune.grad_clip','float',NULL,1.0,'1');
INSERT INTO params VALUES('6005c41c4f0482cd','finetune.lora_rank','int',8,8.0,'8');
INSERT INTO params VALUES('6005c41c4f0482cd','finetune.lr','float',NULL,0.0010000000000000000208,'0.001');
INSERT INTO params VALUES('6005c41c4f0482cd','finetune.mode','string',NULL,NULL,'full');
INSERT INTO params VALUES('6005c41c4f0482cd','finetune.pacing','string',NULL,NULL,'linear');
INSERT INTO params VALUES('6005c41c4f0482cd','finetune.steps','int',6,6.0,'6');
INSERT INTO params VALUES('6005c41c4f0482cd','finetune.text_mix','float',NULL,0.5,'0.5');
INSERT INTO params VALUES('6005c41c4f0482cd','finetune.warmup','int',10,10.0,'10');
INSERT INTO params VALUES('6005c41c4f0482cd','finetune.weight_decay','float',NULL,0.0,'0');
INSERT INTO params VALUES('6005c41c4f0482cd','model.context','int',32,32.0,'32');
INSERT INTO params VALUES('6005c41c4f0482cd','model.d_model','int',32,32.0,'32');
INSERT INTO params VALUES('6005c41c4f0482cd','model.expert_hidden','int',32,32.0,'32');
INSERT INTO params VALUES('6005c41c4f0482cd','model.experts','int',4,4.0,'4');
INSERT INTO params VALUES('6005c41c4f0482cd','model.heads','int',2,2.0,'2');
INSERT INTO params VALUES('6005c41c4f0482cd','model.layers','int',2,2.0,'2');
INSERT INTO params VALUES('6005c41c4f0482cd','model.moe_layers','string',NULL,NULL,'all');
INSERT INTO params VALUES('6005c41c4f0482cd','model.rope_theta','float',NULL,10000.0,'10000');
INSERT INTO params VALUES('6005c41c4f0482cd','model.shared_experts','int',0,0.0,'0');
INSERT INTO params VALUES('6005c41c4f0482cd','model.vocab_size','int',300,300.0,'300');
INSERT INTO params VALUES('6005c41c4f0482cd','pretrain.batch_size','int',4,4.0,'4');
INSERT INTO params VALUES('6005c41c4f0482cd','pretrain.eval_every','int',0,0.0,'0');
INSERT INTO params VALUES('6005c41c4f0482cd','pretrain.grad_clip','float',NULL,1.0,'1');
INSERT INTO params VALUES('6005c41c4f0482cd','pretrain.k','int',2,2.0,'2');
INSERT INTO params VALUES('6005c41c4f0482cd','pretrain.lr','float',NULL,0.0030000000000000000624,'0.003');
INSERT INTO params VALUES('6005c41c4f0482cd','pretrain.steps','int',12,12.0,'12');
INSERT INTO params VALUES('6005c41c4f0482cd','pretrain.warmup','int',30,30.0,'30');
INSERT INTO params VALUES('6005c41c4f0482cd','pretrain.weight_decay','float',NULL,0.10000000000000000555,'0.1');
INSERT INTO params VALUES('6005c41c4f0482cd','router.balance_coef','float',NULL,0.010000000000000000208,'0.01');
INSERT INTO params VALUES('6005c41c4f0482cd','router.normalize','bool',1,NULL,'true');
INSERT INTO params VALUES('6005c41c4f0482cd','router.threshold','float',NULL,0.10000000000000000555,'0.1');
INSERT INTO params VALUES('6005c41c4f0482cd','router.type','string',NULL,NULL,'adaptive_gating');
INSERT INTO params VALUES('6005c41c4f0482cd','router.z_loss_coef','float',NULL,0.0,'0');
INSERT INTO params VALUES('6005c41c4f0482cd','seed','int',0,0.0,'0');
INSERT INTO params VALUES('6005c41c4f0482cd','threads','int',0,0.0,'0');
CREATE TABLE metrics (
  job_id       TEXT NOT NULL,
  phase        TEXT NOT NULL,
  key          TEXT NOT NULL,
  step         INTEGER NOT NULL,
  value        REAL,
  wall_seconds REAL,
  PRIMARY KEY (job_id, phase, key, step)
);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','train_loss',0,5.7151007652282714843,0.25013889999999999735);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','aux_loss',0,0.020049866288900375366,0.25013889999999999735);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','lr',0,0.00010000000000000000479,0.25013889999999999735);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','mean_experts_per_token',0,2.0,0.25013889999999999735);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','tokens_per_second',0,511.80489997213055629,0.25013889999999999735);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','train_loss',1,5.7080588340759277343,1.2648722999999999494);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','aux_loss',1,0.020053431391716003417,1.2648722999999999494);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','lr',1,0.00020000000000000000958,1.2648722999999999494);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','mean_experts_per_token',1,2.0,1.2648722999999999494);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','tokens_per_second',1,127.13580706505599949,1.2648722999999999494);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','train_loss',2,5.7083263397216796875,1.6453385000000000371);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','aux_loss',2,0.02016014978289604187,1.6453385000000000371);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','lr',2,0.00030000000000000002792,1.6453385000000000371);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','mean_experts_per_token',2,2.0,1.6453385000000000371);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','tokens_per_second',2,336.80496808378239848,1.6453385000000000371);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','train_loss',3,5.7126593589782714843,1.7693749000000000837);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','aux_loss',3,0.020063711330294609069,1.7693749000000000837);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','lr',3,0.00040000000000000001916,1.7693749000000000837);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','mean_experts_per_token',3,2.0,1.7693749000000000837);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','tokens_per_second',3,1035.0543807868018575,1.7693749000000000837);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','train_loss',4,5.6859102249145507812,1.8157361999999999113);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','aux_loss',4,0.020059015601873397827,1.8157361999999999113);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','lr',4,0.0005000000000000000104,1.8157361999999999113);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','mean_experts_per_token',4,2.0,1.8157361999999999113);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','tokens_per_second',4,2790.2941362404708343,1.8157361999999999113);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','train_loss',5,5.6719617843627929687,1.8421164999999999345);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','aux_loss',5,0.020083930343389511108,1.8421164999999999345);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','lr',5,0.00060000000000000005585,1.8421164999999999345);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','mean_experts_per_token',5,2.0,1.8421164999999999345);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','tokens_per_second',5,5817.2827835698099081,1.8421164999999999345);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','train_loss',6,5.7029480934143066406,1.8706233000000000998);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','aux_loss',6,0.020059457048773765563,1.8706233000000000998);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','lr',6,0.00069999999999999999288,1.8706233000000000998);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','mean_experts_per_token',6,2.0,1.8706233000000000998);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','tokens_per_second',6,4545.6159664760753002,1.8706233000000000998);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','train_loss',7,5.6669201850891113281,1.9014549000000000589);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','aux_loss',7,0.020022576674818992614,1.9014549000000000589);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','lr',7,0.00080000000000000003833,1.9014549000000000589);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','mean_experts_per_token',7,2.0,1.9014549000000000589);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','tokens_per_second',7,4202.4807769336348429,1.9014549000000000589);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','train_loss',8,5.65793609619140625,1.9507948999999999983);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','aux_loss',8,0.020030710846185684204,1.9507948999999999983);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','lr',8,0.00089999999999999997536,1.9507948999999999983);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','mean_experts_per_token',8,2.0,1.9507948999999999983);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','tokens_per_second',8,2616.2974893763998806,1.9507948999999999983);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','train_loss',9,5.6054711341857910156,1.9655465000000000852);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','aux_loss',9,0.020060356706380844116,1.9655465000000000852);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','lr',9,0.0010000000000000000208,1.9655465000000000852);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','mean_experts_per_token',9,2.0,1.9655465000000000852);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','tokens_per_second',9,8930.0664173690820464,1.9655465000000000852);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','train_loss',10,5.5791082382202148437,1.999336800000000025);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','aux_loss',10,0.020068012177944183349,1.999336800000000025);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','lr',10,0.0011000000000000000662,1.999336800000000025);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','mean_experts_per_token',10,2.0,1.999336800000000025);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','tokens_per_second',10,3833.2764331362823213,1.999336800000000025);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','train_loss',11,5.6326441764831542968,2.0239044000000001588);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','aux_loss',11,0.020043503493070602416,2.0239044000000001588);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','lr',11,0.0012000000000000001117,2.0239044000000001588);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','mean_experts_per_token',11,2.0,2.0239044000000001588);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','tokens_per_second',11,5971.2911517595066469,2.0239044000000001588);
INSERT INTO metrics VALUES('base:91e4ea47c34015bf','pretrain','valid_loss',12,5.5417418479919433593,2.0239044000000001588);
INSERT INTO metrics VALUES('finetune:6ea17c1f7989ef1f','finetune','train_loss',0,5.5297541618347167968,0.93228210000000000245);
INSERT INTO metrics VALUES('finetune:6ea17c1f7989ef1f','finetune','aux_loss',0,0.020057301968336105346,0.93228210000000000245);
INSERT INTO metrics VALUES('finetune:6ea17c1f7989ef1f','finetune','lr',0,0.00010000000000000000479,0.93228210000000000245);
INSERT INTO metrics VALUES('finetune:6ea17c1f7989ef1f','finetune','mean_experts_per_token',0,2.0,0.93228210000000000245);
INSERT INTO metrics VALUES('finetune:6ea17c1f7989ef1f','finetune','tokens_per_second',0,137.30091501405885879,0.93228210000000000245);
INSERT INTO metrics VALUES('finetune:6ea17c1f7989ef1f','finetune','train_loss',1,5.5422606468200683593,2.0866682999999999204);
INSERT INTO metrics VALUES('finetune:6ea17c1f7989ef1f','finetune','aux_loss',1,0.020135726779699325561,2.0866682999999999204);
INSERT INTO metrics VALUES('finetune:6ea17c1f7989ef1f','finetune','lr',1,0.00020000000000000000958,2.0866682999999999204);
INSERT INTO metrics VALUES('finetune:6ea17c1f7989ef1f','finetune','mean_experts_per_token',1,2.0,2.0866682999999999204);
INSERT INTO metrics VALUES('finetune:6ea17c1f7989ef1f','finetune','tokens_per_second',1,111.21198385584285972,2.0866682999999999204);
INSERT INTO metrics VALUES('finetune:6ea17c1f7989ef1f','finetune','train_loss',2,5.4454965591430664062,2.2008830999999999811);
INSERT INTO metrics VALUES('finetune:6ea17c1f7989ef1f','finetune','aux_loss',2,0.020126624032855033874,2.2008830999999999811);
INSERT INTO metrics VALUES('finetune:6ea17c1f7989ef1f','finetune','lr',2,0.00030000000000000002792,2.2008830999999999811);
INSERT INTO metrics VALUES('finetune:6ea17c1f7989ef1f','finetune','mean_experts_per_token',2,2.0,2.2008830999999999811);
INSERT INTO metrics VALUES('finetune:6ea17c1f7989ef1f','finetune','tokens_per_second',2,1126.9817930808599157,2.2008830999999999811);
INSERT INTO metrics VALUES('finetune:6ea17c1f7989ef1f','finetune','train_loss',3,5.4959206581115722656,2.5145601000000001867);
INSERT INTO metrics VALUES('finetune:6ea17c1f7989ef1f','finetune','aux_loss',3,0.020034274086356163024,2.5145601000000001867);
INSERT INTO metrics VALUES('finetune:6ea17c1f7989ef1f','finetune','lr',3,0.00040000000000000001916,2.5145601000000001867);
INSERT INTO metrics VALUES('finetune:6ea17c1f7989ef1f','finetune','mean_experts_per_token',3,2.0,2.5145601000000001867);
INSERT INTO metrics VALUES('finetune:6ea17c1f7989ef1f','finetune','tokens_per_second',3,408.77629940564543177,2.5145601000000001867);
INSERT INTO metrics VALUES('finetune:6ea17c1f7989ef1f','finetune','train_loss',4,5.4753241539001464843,2.6700414000000001202);
INSERT INTO metrics VALUES('finetune:6ea17c1f7989ef1f','finetune','aux_loss',4,0.020056363195180892944,2.6700414000000001202);
INSERT INTO metrics VALUES('finetune:6ea17c1f7989ef1f','finetune','lr',4,0.0005000000000000000104,2.6700414000000001202);
INSERT INTO metrics VALUES('finetune:6ea17c1f7989ef1f','finetune','mean_experts_per_token',4,2.0,2.6700414000000001202);
INSERT INTO metrics VALUES('finetune:6ea17c1f7989ef1f','finetune','tokens_per_second',4,825.01177897676541304,2.6700414000000001202);
INSERT INTO metrics VALUES('finetune:6ea17c1f7989ef1f','finetune','train_loss',5,5.5089116096496582031,2.9939811999999998981);
INSERT INTO metrics VALUES('finetune:6ea17c1f7989ef1f','finetune','aux_loss',5,0.020026732236146926879,2.9939811999999998981);
INSERT INTO metrics VALUES('finetune:6ea17c1f7989ef1f','finetune','lr',5,0.00060000000000000005585,2.9939811999999998981);
INSERT INTO metrics VALUES('finetune:6ea17c1f7989ef1f','finetune','mean_experts_per_token',5,2.0,2.9939811999999998981);
INSERT INTO metrics VALUES('finetune:6ea17c1f7989ef1f','finetune','tokens_per_second',5,395.56399700113058771,2.9939811999999998981);
INSERT INTO metrics VALUES('finetune:6ea17c1f7989ef1f','finetune','valid_loss',6,5.4816704988479614257,2.9939811999999998981);
INSERT INTO metrics VALUES('finetune:81d0ac3319ae73ee','finetune','train_loss',0,5.5312857627868652343,0.55652849999999998154);
INSERT INTO metrics VALUES('finetune:81d0ac3319ae73ee','finetune','aux_loss',0,0.020334839820861816406,0.55652849999999998154);
INSERT INTO metrics VALUES('finetune:81d0ac3319ae73ee','finetune','lr',0,0.00010000000000000000479,0.55652849999999998154);
INSERT INTO metrics VALUES('finetune:81d0ac3319ae73ee','finetune','mean_experts_per_token',0,2.0,0.55652849999999998154);
INSERT INTO metrics VALUES('finetune:81d0ac3319ae73ee','finetune','tokens_per_second',0,230.00625688895695475,0.55652849999999998154);
INSERT INTO metrics VALUES('finetune:81d0ac3319ae73ee','finetune','train_loss',1,5.5433182716369628906,0.69600039999999996354);
INSERT INTO metrics VALUES('finetune:81d0ac3319ae73ee','finetune','aux_loss',1,0.020412124693393707275,0.69600039999999996354);
INSERT INTO metrics VALUES('finetune:81d0ac3319ae73ee','finetune','lr',1,0.00020000000000000000958,0.69600039999999996354);
INSERT INTO metrics VALUES('finetune:81d0ac3319ae73ee','finetune','mean_experts_per_token',1,2.0,0.69600039999999996354);
INSERT INTO metrics VALUES('finetune:81d0ac3319ae73ee','finetune','tokens_per_second',1,1031.2517623931491925,0.69600039999999996354);
INSERT INTO metrics VALUES('finetune:81d0ac3319ae73ee','finetune','train_loss',2,5.4488515853881835937,0.88707130000000000702);
INSERT INTO metrics VALUES('finetune:81d0ac3319ae73ee','finetune','aux_loss',2,0.020404409617185592651,0.88707130000000000702);
INSERT INTO metrics VALUES('finetune:81d0ac3319ae73ee','finetune','lr',2,0.00030000000000000002792,0.88707130000000000702);
INSERT INTO metrics VALUES('finetune:81d0ac3319ae73ee','finetune','mean_experts_per_token',2,2.0,0.88707130000000000702);
INSERT INTO metrics VALUES('finetune:81d0ac3319ae73ee','finetune','tokens_per_second',2,671.41236311449290496,0.88707130000000000702);
INSERT INTO metrics VALUES('finetune:81d0ac3319ae73ee','finetune','train_loss',3,5.4979200363159179687,1.1732488000000000916);
INSERT INTO metrics VALUES('finetune:81d0ac3319ae73ee','finetune','aux_loss',3,0.02031336165964603424,1.1732488000000000916);
INSERT INTO metrics VALUES('finetune:81d0ac3319ae73ee','finetune','lr',3,0.00040000000000000001916,1.1732488000000000916);
INSERT INTO metrics VALUES('finetune:81d0ac3319ae73ee','finetune','mean_experts_per_token',3,2.0,1.1732488000000000916);
INSERT INTO metrics VALUES('finetune:81d0ac3319ae73ee','finetune','tokens_per_second',3,447.9932353021470135,1.1732488000000000916);
INSERT INTO metrics VALUES('finetune:81d0ac3319ae73ee','finetune','train_loss',4,5.4776477813720703125,1.5112677000000001026);
INSERT INTO metrics VALUES('finetune:81d0ac3319ae73ee','finetune','aux_loss',4,0.020335912704467773437,1.5112677000000001026);
INSERT INTO metrics VALUES('finetune:81d0ac3319ae73ee','finetune','lr',4,0.0005000000000000000104,1.5112677000000001026);
INSERT INTO metrics VALUES('finetune:81d0ac3319ae73ee','finetune','mean_experts_per_token',4,2.0,1.5112677000000001026);
INSERT INTO metrics VALUES('finetune:81d0ac3319ae73ee','finetune','tokens_per_second',4,398.49257729744221024,1.5112677000000001026);
INSERT INTO metrics VALUES('finetune:81d0ac3319ae73ee','finetune','train_loss',5,5.5102357864379882812,1.9574636999999999176);
INSERT INTO metrics VALUES('finetune:81d0ac3319ae73ee','finetune','aux_loss',5,0.020315617322921752929,1.9574636999999999176);
INSERT INTO metrics VALUES('finetune:81d0ac3319ae73ee','finetune','lr',5,0.00060000000000000005585,1.9574636999999999176);
INSERT INTO metrics VALUES('finetune:81d0ac3319ae73ee','finetune','mean_experts_per_token',5,2.0,1.9574636999999999176);
INSERT INTO metrics VALUES('finetune:81d0ac3319ae73ee','finetune','tokens_per_second',5,287.31974894539069964,1.9574636999999999176);
INSERT INTO metrics VALUES('finetune:81d0ac3319ae73ee','finetune','valid_loss',6,5.4824497699737548828,1.9574636999999999176);
INSERT INTO metrics VALUES('finetune:05d0ebf4ef2ec5bc','finetune','train_loss',0,5.5297541618347167968,0.81810240000000000737);
INSERT INTO metrics VALUES('finetune:05d0ebf4ef2ec5bc','finetune','aux_loss',0,0.0,0.81810240000000000737);
INSERT INTO metrics VALUES('finetune:05d0ebf4ef2ec5bc','finetune','lr',0,0.00010000000000000000479,0.81810240000000000737);
INSERT INTO metrics VALUES('finetune:05d0ebf4ef2ec5bc','finetune','mean_experts_per_token',0,2.0,0.81810240000000000737);
INSERT INTO metrics VALUES('finetune:05d0ebf4ef2ec5bc','finetune','tokens_per_second',0,156.463035730045533,0.81810240000000000737);
INSERT INTO metrics VALUES('finetune:05d0ebf4ef2ec5bc','finetune','train_loss',1,5.5423297882080078125,1.9262007999999999352);
INSERT INTO metrics VALUES('finetune:05d0ebf4ef2ec5bc','finetune','aux_loss',1,0.0,1.9262007999999999352);
INSERT INTO metrics VALUES('finetune:05d0ebf4ef2ec5bc','finetune','lr',1,0.00020000000000000000958,1.9262007999999999352);
INSERT INTO metrics VALUES('finetune:05d0ebf4ef2ec5bc','finetune','mean_experts_per_token',1,2.0,1.9262007999999999352);
INSERT INTO metrics VALUES('finetune:05d0ebf4ef2ec5bc','finetune','tokens_per_second',1,116.76060117844284036,1.9262007999999999352);
INSERT INTO metrics VALUES('finetune:05d0ebf4ef2ec5bc','finetune','train_loss',2,5.4456057548522949218,2.0212596000000000451);
INSERT INTO metrics VALUES('finetune:05d0ebf4ef2ec5bc','finetune','aux_loss',2,0.0,2.0212596000000000451);
INSERT INTO metrics VALUES('finetune:05d0ebf4ef2ec5bc','finetune','lr',2,0.00030000000000000002792,2.0212596000000000451);
INSERT INTO metrics VALUES('finetune:05d0ebf4ef2ec5bc','finetune','mean_experts_per_token',2,2.0,2.0212596000000000451);
INSERT INTO metrics VALUES('finetune:05d0ebf4ef2ec5bc','finetune','tokens_per_second',2,1356.4940563305340219,2.0212596000000000451);
INSERT INTO metrics VALUES('finetune:05d0ebf4ef2ec5bc','finetune','train_loss',3,5.4959483146667480468,2.3507296000000001967);
INSERT INTO metrics VALUES('finetune:05d0ebf4ef2ec5bc','finetune','aux_loss',3,0.0,2.3507296000000001967);
INSERT INTO metrics VALUES('finetune:05d0ebf4ef2ec5bc','finetune','lr',3,0.00040000000000000001916,2.3507296000000001967);
INSERT INTO metrics VALUES('finetune:05d0ebf4ef2ec5bc','finetune','mean_experts_per_token',3,2.0,2.3507296000000001967);
INSERT INTO metrics VALUES('finetune:05d0ebf4ef2ec5bc','finetune','tokens_per_second',3,389.56465845070738396,2.3507296000000001967);
INSERT INTO metrics VALUES('finetune:05d0ebf4ef2ec5bc','finetune','train_loss',4,5.4755420684814453125,3.0192030000000000811);
INSERT INTO metrics VALUES('finetune:05d0ebf4ef2ec5bc','finetune','aux_loss',4,0.0,3.0192030000000000811);
INSERT INTO metrics VALUES('finetune:05d0ebf4ef2ec5bc','finetune','lr',4,0.0005000000000000000104,3.0192030000000000811);
INSERT INTO metrics VALUES('finetune:05d0ebf4ef2ec5bc','finetune','mean_experts_per_token',4,2.0,3.0192030000000000811);
INSERT INTO metrics VALUES('finetune:05d0ebf4ef2ec5bc','finetune','tokens_per_second',4,191.62898711804083972,3.0192030000000000811);
INSERT INTO metrics VALUES('finetune:05d0ebf4ef2ec5bc','finetune','train_loss',5,5.5090451240539550781,3.6841533000000001862);
INSERT INTO metrics VALUES('finetune:05d0ebf4ef2ec5bc','finetune','aux_loss',5,0.0,3.6841533000000001862);
INSERT INTO metrics VALUES('finetune:05d0ebf4ef2ec5bc','finetune','lr',5,0.00060000000000000005585,3.6841533000000001862);
INSERT INTO metrics VALUES('finetune:05d0ebf4ef2ec5bc','finetune','mean_experts_per_token',5,2.0,3.6841533000000001862);
INSERT INTO metrics VALUES('finetune:05d0ebf4ef2ec5bc','finetune','tokens_per_second',5,192.67254277782015492,3.6841533000000001862);
INSERT INTO metrics VALUES('finetune:05d0ebf4ef2ec5bc','finetune','valid_loss',6,5.4816319942474365234,3.6841533000000001862);
CREATE TABLE final_metrics (
  run_id TEXT NOT NULL REFERENCES runs(run_id),
  key    TEXT NOT NULL,
  value  REAL,
  PRIMARY KEY (run_id, key)
);
INSERT INTO final_metrics VALUES('34331f0175b77966','eval_loss',5.4865198135375976562);
INSERT INTO final_metrics VALUES('34331f0175b77966','perplexity',241.41557197885268237);
INSERT INTO final_metrics VALUES('34331f0175b77966','accuracy',0.0);
INSERT INTO final_metrics VALUES('34331f0175b77966','mean_experts_per_token',2.0);
INSERT INTO final_metrics VALUES('34331f0175b77966','flops_per_token',64896.0);
INSERT INTO final_metrics VALUES('34331f0175b77966','activated_parameters',30336.0);
INSERT INTO final_metrics VALUES('34331f0175b77966','inference_tokens_per_second',1585.12459636597805);
INSERT INTO final_metrics VALUES('34331f0175b77966','total_parameters',52384.0);
INSERT INTO final_metrics VALUES('34331f0175b77966','eval_seconds',7.1308483999999996427);
INSERT INTO final_metrics VALUES('34331f0175b77966','train_seconds',2.9939811999999998981);
INSERT INTO final_metrics VALUES('34331f0175b77966','train_tokens_per_second',500.80779455571718017);
INSERT INTO final_metrics VALUES('34331f0175b77966','job_seconds',15.721288400000000606);
INSERT INTO final_metrics VALUES('06699423b5dc70e7','eval_loss',5.4872727394104003906);
INSERT INTO final_metrics VALUES('06699423b5dc70e7','perplexity',241.59740845519664276);
INSERT INTO final_metrics VALUES('06699423b5dc70e7','accuracy',0.0);
INSERT INTO final_metrics VALUES('06699423b5dc70e7','mean_experts_per_token',2.0);
INSERT INTO final_metrics VALUES('06699423b5dc70e7','flops_per_token',64896.0);
INSERT INTO final_metrics VALUES('06699423b5dc70e7','activated_parameters',30336.0);
INSERT INTO final_metrics VALUES('06699423b5dc70e7','inference_tokens_per_second',1757.89947493053387);
INSERT INTO final_metrics VALUES('06699423b5dc70e7','total_parameters',52384.0);
INSERT INTO final_metrics VALUES('06699423b5dc70e7','eval_seconds',8.587547700000000006);
INSERT INTO final_metrics VALUES('06699423b5dc70e7','train_seconds',1.9574636999999999176);
INSERT INTO final_metrics VALUES('06699423b5dc70e7','train_tokens_per_second',511.07932399026304894);
INSERT INTO final_metrics VALUES('06699423b5dc70e7','job_seconds',15.313090600000000662);
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
INSERT INTO task_results VALUES('34331f0175b77966','addition',1,2,0,0.0,5.4850201606750488281,2.0);
INSERT INTO task_results VALUES('34331f0175b77966','addition',2,2,0,0.0,5.507808685302734375,2.0);
INSERT INTO task_results VALUES('34331f0175b77966','brackets',1,2,0,0.0,5.268825531005859375,2.0);
INSERT INTO task_results VALUES('34331f0175b77966','brackets',2,2,0,0.0,5.3533143997192382812,2.0);
INSERT INTO task_results VALUES('06699423b5dc70e7','addition',1,2,0,0.0,5.4895930290222167968,2.0);
INSERT INTO task_results VALUES('06699423b5dc70e7','addition',2,2,0,0.0,5.5069513320922851562,2.0);
INSERT INTO task_results VALUES('06699423b5dc70e7','brackets',1,2,0,0.0,5.2712793350219726562,2.0);
INSERT INTO task_results VALUES('06699423b5dc70e7','brackets',2,2,0,0.0,5.3558068275451660156,2.0);
CREATE TABLE expert_usage (
  run_id                TEXT NOT NULL REFERENCES runs(run_id),
  layer                 INTEGER NOT NULL,
  expert                INTEGER NOT NULL,
  tokens                INTEGER NOT NULL,
  share                 REAL NOT NULL,
  mean_gate_probability REAL,
  PRIMARY KEY (run_id, layer, expert)
);
INSERT INTO expert_usage VALUES('34331f0175b77966',0,0,262,0.255859375,0.25122749805450439453);
INSERT INTO expert_usage VALUES('34331f0175b77966',0,1,267,0.2607421875,0.24933277070522308349);
INSERT INTO expert_usage VALUES('34331f0175b77966',0,2,267,0.2607421875,0.25462263822555541992);
INSERT INTO expert_usage VALUES('34331f0175b77966',0,3,228,0.22265625,0.24481710791587829589);
INSERT INTO expert_usage VALUES('34331f0175b77966',1,0,254,0.248046875,0.24747166037559509277);
INSERT INTO expert_usage VALUES('34331f0175b77966',1,1,211,0.2060546875,0.24976366758346557617);
INSERT INTO expert_usage VALUES('34331f0175b77966',1,2,221,0.2158203125,0.24912267923355102539);
INSERT INTO expert_usage VALUES('34331f0175b77966',1,3,338,0.330078125,0.25364199280738830566);
INSERT INTO expert_usage VALUES('06699423b5dc70e7',0,0,268,0.26171875,0.251437455415725708);
INSERT INTO expert_usage VALUES('06699423b5dc70e7',0,1,270,0.263671875,0.24978238344192504882);
INSERT INTO expert_usage VALUES('06699423b5dc70e7',0,2,266,0.259765625,0.25463557243347167968);
INSERT INTO expert_usage VALUES('06699423b5dc70e7',0,3,220,0.21484375,0.24414458870887756347);
INSERT INTO expert_usage VALUES('06699423b5dc70e7',1,0,203,0.1982421875,0.2457160353660583496);
INSERT INTO expert_usage VALUES('06699423b5dc70e7',1,1,249,0.2431640625,0.25148943066596984863);
INSERT INTO expert_usage VALUES('06699423b5dc70e7',1,2,246,0.240234375,0.24992546439170837402);
INSERT INTO expert_usage VALUES('06699423b5dc70e7',1,3,326,0.318359375,0.25286906957626342773);
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
INSERT INTO routing_stats VALUES('34331f0175b77966',0,512,2.0,'[0,0,512,0,0]',0.0,0.0,1.3830906152725219726,0.018078094348311424255,0.010007655248045921325,1.9185539484024047851,0.0);
INSERT INTO routing_stats VALUES('34331f0175b77966',1,512,2.0,'[0,0,512,0,0]',0.0,0.0,1.3851219415664672851,0.012884074822068214416,0.010013477876782417297,1.9913229942321777343,0.0);
INSERT INTO routing_stats VALUES('06699423b5dc70e7',0,512,2.0,'[0,0,512,0,0]',0.0,0.0,1.3829891681671142578,0.018236486241221427917,0.010010600090026855468,1.9173856973648071289,0.00013829891395289450883);
INSERT INTO routing_stats VALUES('06699423b5dc70e7',1,512,2.0,'[0,0,512,0,0]',0.0,0.0,1.3850846290588378906,0.013360520824790000915,0.0100163361057639122,1.9981893301010131835,0.0001385084615321829915);
CREATE TABLE token_class_usage (
  run_id                 TEXT NOT NULL REFERENCES runs(run_id),
  layer                  INTEGER NOT NULL,
  token_class            TEXT NOT NULL,
  tokens                 INTEGER NOT NULL,
  mean_experts_per_token REAL NOT NULL,
  PRIMARY KEY (run_id, layer, token_class)
);
INSERT INTO token_class_usage VALUES('34331f0175b77966',0,'function_word',116,2.0);
INSERT INTO token_class_usage VALUES('34331f0175b77966',0,'content_word',335,2.0);
INSERT INTO token_class_usage VALUES('34331f0175b77966',0,'punctuation',33,2.0);
INSERT INTO token_class_usage VALUES('34331f0175b77966',0,'number',4,2.0);
INSERT INTO token_class_usage VALUES('34331f0175b77966',0,'whitespace',24,2.0);
INSERT INTO token_class_usage VALUES('34331f0175b77966',1,'function_word',116,2.0);
INSERT INTO token_class_usage VALUES('34331f0175b77966',1,'content_word',335,2.0);
INSERT INTO token_class_usage VALUES('34331f0175b77966',1,'punctuation',33,2.0);
INSERT INTO token_class_usage VALUES('34331f0175b77966',1,'number',4,2.0);
INSERT INTO token_class_usage VALUES('34331f0175b77966',1,'whitespace',24,2.0);
INSERT INTO token_class_usage VALUES('06699423b5dc70e7',0,'function_word',116,2.0);
INSERT INTO token_class_usage VALUES('06699423b5dc70e7',0,'content_word',335,2.0);
INSERT INTO token_class_usage VALUES('06699423b5dc70e7',0,'punctuation',33,2.0);
INSERT INTO token_class_usage VALUES('06699423b5dc70e7',0,'number',4,2.0);
INSERT INTO token_class_usage VALUES('06699423b5dc70e7',0,'whitespace',24,2.0);
INSERT INTO token_class_usage VALUES('06699423b5dc70e7',1,'function_word',116,2.0);
INSERT INTO token_class_usage VALUES('06699423b5dc70e7',1,'content_word',335,2.0);
INSERT INTO token_class_usage VALUES('06699423b5dc70e7',1,'punctuation',33,2.0);
INSERT INTO token_class_usage VALUES('06699423b5dc70e7',1,'number',4,2.0);
INSERT INTO token_class_usage VALUES('06699423b5dc70e7',1,'whitespace',24,2.0);
CREATE TABLE word_usage (
  run_id                 TEXT NOT NULL REFERENCES runs(run_id),
  word                   TEXT NOT NULL,
  token_class            TEXT NOT NULL,
  tokens                 INTEGER NOT NULL,
  mean_experts_per_token REAL NOT NULL,
  PRIMARY KEY (run_id, word)
);
INSERT INTO word_usage VALUES('34331f0175b77966','"','punctuation',10,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','''re','function_word',2,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','''s','function_word',3,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','(','punctuation',2,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966',',','punctuation',7,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966',',"','punctuation',4,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','-','punctuation',2,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','.','punctuation',5,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','.:','punctuation',2,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','3','number',2,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','a','function_word',4,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','about','function_word',4,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','admit','content_word',4,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','and','function_word',6,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','answered','content_word',5,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','anyone','content_word',4,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','as','function_word',2,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','at','function_word',2,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','attempt','content_word',7,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','be','function_word',3,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','beef','content_word',4,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','boasted','content_word',5,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','but','function_word',7,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','by','function_word',2,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','can','function_word',2,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','carburetor','content_word',7,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','carson','content_word',4,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','circa','content_word',4,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','cola','content_word',4,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','complete','content_word',2,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','confess','content_word',5,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','consolation','content_word',9,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','croaked','content_word',6,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','default','content_word',7,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','dirksen','content_word',7,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','do','function_word',2,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','dunnest','content_word',5,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','end','content_word',3,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','ever','content_word',4,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','favor','content_word',4,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','ferguson','content_word',7,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','fish','content_word',3,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','flat','content_word',3,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','for','function_word',2,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','frog','content_word',4,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','get','content_word',4,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','golden','content_word',6,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','governor','content_word',7,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','had','function_word',3,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','hardware','content_word',6,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','hell','content_word',3,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','his','function_word',2,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','hours','content_word',4,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','i','function_word',3,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','illness','content_word',5,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','is','function_word',4,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','it','function_word',2,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','jock','content_word',5,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','joy','content_word',4,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','kansan','content_word',2,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','keen','content_word',4,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','knghtbrd','content_word',5,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','knife','content_word',6,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','let','content_word',3,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','lord','content_word',4,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','ma','content_word',2,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','macdonald','content_word',9,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','may','function_word',3,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','me','function_word',2,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','my','function_word',2,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','never','content_word',4,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','news','content_word',4,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','nothing','content_word',5,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','now','content_word',3,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','of','function_word',3,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','old','content_word',2,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','on','function_word',2,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','original','content_word',7,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','originally','content_word',6,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','patient','content_word',6,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','perceived','content_word',8,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','periphrasis','content_word',8,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','pride','content_word',5,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','really','content_word',5,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','reliable','content_word',7,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','sins','content_word',3,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','slogans','content_word',6,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','slowly','content_word',6,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','smoke','content_word',5,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','someone','content_word',2,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','synthetic','content_word',8,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','texas','content_word',5,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','that','function_word',3,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','the','function_word',8,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','themselves','content_word',7,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','then','function_word',2,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','they','function_word',2,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','to','function_word',3,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','turned','content_word',5,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','twenty','content_word',5,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','were','function_word',3,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','which','function_word',5,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','while','function_word',4,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','will','function_word',3,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','would','function_word',4,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','written','content_word',5,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','wurst','content_word',4,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','you','function_word',6,2.0);
INSERT INTO word_usage VALUES('34331f0175b77966','your','function_word',3,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','"','punctuation',10,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','''re','function_word',2,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','''s','function_word',3,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','(','punctuation',2,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7',',','punctuation',7,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7',',"','punctuation',4,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','-','punctuation',2,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','.','punctuation',5,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','.:','punctuation',2,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','3','number',2,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','a','function_word',4,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','about','function_word',4,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','admit','content_word',4,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','and','function_word',6,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','answered','content_word',5,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','anyone','content_word',4,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','as','function_word',2,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','at','function_word',2,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','attempt','content_word',7,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','be','function_word',3,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','beef','content_word',4,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','boasted','content_word',5,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','but','function_word',7,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','by','function_word',2,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','can','function_word',2,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','carburetor','content_word',7,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','carson','content_word',4,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','circa','content_word',4,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','cola','content_word',4,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','complete','content_word',2,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','confess','content_word',5,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','consolation','content_word',9,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','croaked','content_word',6,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','default','content_word',7,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','dirksen','content_word',7,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','do','function_word',2,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','dunnest','content_word',5,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','end','content_word',3,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','ever','content_word',4,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','favor','content_word',4,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','ferguson','content_word',7,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','fish','content_word',3,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','flat','content_word',3,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','for','function_word',2,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','frog','content_word',4,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','get','content_word',4,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','golden','content_word',6,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','governor','content_word',7,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','had','function_word',3,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','hardware','content_word',6,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','hell','content_word',3,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','his','function_word',2,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','hours','content_word',4,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','i','function_word',3,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','illness','content_word',5,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','is','function_word',4,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','it','function_word',2,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','jock','content_word',5,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','joy','content_word',4,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','kansan','content_word',2,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','keen','content_word',4,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','knghtbrd','content_word',5,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','knife','content_word',6,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','let','content_word',3,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','lord','content_word',4,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','ma','content_word',2,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','macdonald','content_word',9,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','may','function_word',3,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','me','function_word',2,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','my','function_word',2,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','never','content_word',4,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','news','content_word',4,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','nothing','content_word',5,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','now','content_word',3,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','of','function_word',3,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','old','content_word',2,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','on','function_word',2,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','original','content_word',7,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','originally','content_word',6,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','patient','content_word',6,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','perceived','content_word',8,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','periphrasis','content_word',8,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','pride','content_word',5,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','really','content_word',5,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','reliable','content_word',7,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','sins','content_word',3,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','slogans','content_word',6,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','slowly','content_word',6,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','smoke','content_word',5,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','someone','content_word',2,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','synthetic','content_word',8,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','texas','content_word',5,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','that','function_word',3,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','the','function_word',8,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','themselves','content_word',7,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','then','function_word',2,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','they','function_word',2,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','to','function_word',3,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','turned','content_word',5,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','twenty','content_word',5,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','were','function_word',3,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','which','function_word',5,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','while','function_word',4,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','will','function_word',3,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','would','function_word',4,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','written','content_word',5,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','wurst','content_word',4,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','you','function_word',6,2.0);
INSERT INTO word_usage VALUES('06699423b5dc70e7','your','function_word',3,2.0);
CREATE TABLE events (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id  TEXT NOT NULL,
  time    TEXT NOT NULL,
  kind    TEXT NOT NULL,
  message TEXT NOT NULL,
  step    INTEGER
);
INSERT INTO events VALUES(1,'finetune:6ea17c1f7989ef1f','2026-11-27T08:40:25.178Z','curriculum','difficulties 1..2',0);
INSERT INTO events VALUES(2,'finetune:81d0ac3319ae73ee','2026-11-27T08:40:41.138Z','curriculum','difficulties 1..2',0);
INSERT INTO events VALUES(3,'finetune:05d0ebf4ef2ec5bc','2026-11-27T08:41:00.474Z','curriculum','difficulties 1..2',0);
INSERT INTO events VALUES(4,'6005c41c4f0482cd','2026-11-27T08:41:00.888Z','failure','exit code 1: injected failure in job 6005c41c4f0482cd at start',NULL);
CREATE TABLE artifacts (
  job_id TEXT NOT NULL,
  path   TEXT NOT NULL,
  kind   TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size   INTEGER NOT NULL,
  PRIMARY KEY (job_id, path)
);
INSERT INTO artifacts VALUES('base:91e4ea47c34015bf','/tmp/fixture/results/checkpoints/91e4ea47c34015bf/model.bin','checkpoint','97be04f630dd5d7c051fe3ac409dd3971ab7c07868f03839e31b2a981ae93aa3',211575);
INSERT INTO artifacts VALUES('finetune:6ea17c1f7989ef1f','/tmp/fixture/results/checkpoints/91e4ea47c34015bf/model.bin','base_checkpoint','97be04f630dd5d7c051fe3ac409dd3971ab7c07868f03839e31b2a981ae93aa3',211575);
INSERT INTO artifacts VALUES('finetune:6ea17c1f7989ef1f','/tmp/fixture/results/finetunes/6ea17c1f7989ef1f/model.bin','checkpoint','88b209552f1f918c98fe630c357bc4b2bd70d7694f2edb5058b292f9852306d2',211575);
INSERT INTO artifacts VALUES('34331f0175b77966','/tmp/fixture/results/finetunes/6ea17c1f7989ef1f/model.bin','finetuned_checkpoint','88b209552f1f918c98fe630c357bc4b2bd70d7694f2edb5058b292f9852306d2',211575);
INSERT INTO artifacts VALUES('finetune:81d0ac3319ae73ee','/tmp/fixture/results/checkpoints/91e4ea47c34015bf/model.bin','base_checkpoint','97be04f630dd5d7c051fe3ac409dd3971ab7c07868f03839e31b2a981ae93aa3',211575);
INSERT INTO artifacts VALUES('finetune:81d0ac3319ae73ee','/tmp/fixture/results/finetunes/81d0ac3319ae73ee/model.bin','checkpoint','dd98583ec0044bb609771648329438b5a1490c5f4d5dfce4424a4fda8dccee0e',211575);
INSERT INTO artifacts VALUES('06699423b5dc70e7','/tmp/fixture/results/finetunes/81d0ac3319ae73ee/model.bin','finetuned_checkpoint','dd98583ec0044bb609771648329438b5a1490c5f4d5dfce4424a4fda8dccee0e',211575);
INSERT INTO artifacts VALUES('finetune:05d0ebf4ef2ec5bc','/tmp/fixture/results/checkpoints/91e4ea47c34015bf/model.bin','base_checkpoint','97be04f630dd5d7c051fe3ac409dd3971ab7c07868f03839e31b2a981ae93aa3',211575);
INSERT INTO artifacts VALUES('finetune:05d0ebf4ef2ec5bc','/tmp/fixture/results/finetunes/05d0ebf4ef2ec5bc/model.bin','checkpoint','f1ac8adbb187b06c6c3678fc9a02444b845762b169bf0181b17639fb5707c33b',211575);
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
, executor_job_id TEXT);
INSERT INTO finetunes VALUES('6ea17c1f7989ef1f','91e4ea47c34015bf','completed',1,'{"data":{"corpus":"fortunes","max_difficulty":2,"task_mix":0.3,"tasks":"addition,brackets","test_fraction":0.05,"valid_fraction":0.05},"device":"cpu","eval":{"target_loss":0.0},"finetune":{"batch_size":4,"curriculum":"none","curriculum_pool":256,"eval_every":0,"grad_clip":1.0,"lora_rank":8,"lr":0.001,"mode":"full","pacing":"linear","steps":6,"text_mix":0.5,"warmup":10,"weight_decay":0.0},"model":{"context":32,"d_model":32,"expert_hidden":32,"experts":4,"heads":2,"layers":2,"moe_layers":"all","rope_theta":10000.0,"shared_experts":0,"vocab_size":300},"pretrain":{"batch_size":4,"eval_every":0,"grad_clip":1.0,"k":2,"lr":0.003,"steps":12,"warmup":30,"weight_decay":0.1},"router":{"balance_coef":0.01,"k":2,"type":"top_k","z_loss_coef":0.0},"seed":0,"threads":0}','/tmp/fixture/results/finetunes/6ea17c1f7989ef1f/model.bin','88b209552f1f918c98fe630c357bc4b2bd70d7694f2edb5058b292f9852306d2',NULL,0,NULL,NULL,NULL,'2026-11-27T08:40:09.322Z','2026-11-27T08:40:15.590Z','2026-11-27T08:40:25.179Z','{"git_commit":"ce62c3cbe990da445f0d71af7bccb4f135dbc1c6","git_dirty":"true","spec":"/tmp/fixture/tiny.yaml","config_json":"{\u0022data\u0022:{\u0022corpus\u0022:\u0022fortunes\u0022,\u0022max_difficulty\u0022:2,\u0022multiple_choice\u0022:\u0022\u0022,\u0022task_mix\u0022:0.3,\u0022tasks\u0022:\u0022addition,brackets\u0022,\u0022test_fraction\u0022:0.05,\u0022valid_fraction\u0022:0.05},\u0022device\u0022:\u0022cpu\u0022,\u0022eval\u0022:{\u0022collapse_share\u0022:0.9,\u0022max_answer_tokens\u0022:4,\u0022target_loss\u0022:0.0,\u0022task_samples\u0022:2,\u0022text_batches\u0022:1},\u0022finetune\u0022:{\u0022batch_size\u0022:4,\u0022curriculum\u0022:\u0022none\u0022,\u0022curriculum_pool\u0022:256,\u0022eval_every\u0022:0,\u0022grad_clip\u0022:1.0,\u0022lora_rank\u0022:8,\u0022lr\u0022:0.001,\u0022mode\u0022:\u0022full\u0022,\u0022pacing\u0022:\u0022linear\u0022,\u0022steps\u0022:6,\u0022text_mix\u0022:0.5,\u0022warmup\u0022:10,\u0022weight_decay\u0022:0.0},\u0022model\u0022:{\u0022context\u0022:32,\u0022d_model\u0022:32,\u0022expert_hidden\u0022:32,\u0022experts\u0022:4,\u0022heads\u0022:2,\u0022layers\u0022:2,\u0022moe_layers\u0022:\u0022all\u0022,\u0022rope_theta\u0022:10000.0,\u0022shared_experts\u0022:0,\u0022vocab_size\u0022:300},\u0022pretrain\u0022:{\u0022batch_size\u0022:4,\u0022eval_every\u0022:0,\u0022grad_clip\u0022:1.0,\u0022k\u0022:2,\u0022lr\u0022:0.003,\u0022steps\u0022:12,\u0022warmup\u0022:30,\u0022weight_decay\u0022:0.1},\u0022router\u0022:{\u0022balance_coef\u0022:0.01,\u0022k\u0022:2,\u0022type\u0022:\u0022top_k\u0022,\u0022z_loss_coef\u0022:0.0},\u0022seed\u0022:0,\u0022threads\u0022:0}","dotnet":".NET 10.0.12","torchsharp":"0.107.0","libtorch":"libtorch-cpu-linux-x64 2.10.0","device":"cpu (2 cores, 2 threads)","host":"vm","os":"Debian GNU/Linux 12 (bookworm)","command_line":"/tmp/old-build/orchestrator.dll sweep --spec /tmp/fixture/tiny.yaml --no-report","started_at":"2026-11-27T08:40:17.0227372Z","seed":"0","finished_at":"2026-11-27T08:40:24.2917260Z"}','local:10573');
INSERT INTO finetunes VALUES('81d0ac3319ae73ee','91e4ea47c34015bf','completed',1,'{"data":{"corpus":"fortunes","max_difficulty":2,"task_mix":0.3,"tasks":"addition,brackets","test_fraction":0.05,"valid_fraction":0.05},"device":"cpu","eval":{"target_loss":0.0},"finetune":{"batch_size":4,"curriculum":"none","curriculum_pool":256,"eval_every":0,"grad_clip":1.0,"lora_rank":8,"lr":0.001,"mode":"full","pacing":"linear","steps":6,"text_mix":0.5,"warmup":10,"weight_decay":0.0},"model":{"context":32,"d_model":32,"expert_hidden":32,"experts":4,"heads":2,"layers":2,"moe_layers":"all","rope_theta":10000.0,"shared_experts":0,"vocab_size":300},"pretrain":{"batch_size":4,"eval_every":0,"grad_clip":1.0,"k":2,"lr":0.003,"steps":12,"warmup":30,"weight_decay":0.1},"router":{"balance_coef":0.01,"entropy_coef":0.0001,"max_experts":0,"normalize":false,"p":0.4,"type":"top_p","z_loss_coef":0.0},"seed":0,"threads":0}','/tmp/fixture/results/finetunes/81d0ac3319ae73ee/model.bin','dd98583ec0044bb609771648329438b5a1490c5f4d5dfce4424a4fda8dccee0e',NULL,0,NULL,NULL,NULL,'2026-11-27T08:40:09.327Z','2026-11-27T08:40:33.571Z','2026-11-27T08:40:41.139Z','{"git_commit":"ce62c3cbe990da445f0d71af7bccb4f135dbc1c6","git_dirty":"true","spec":"/tmp/fixture/tiny.yaml","config_json":"{\u0022data\u0022:{\u0022corpus\u0022:\u0022fortunes\u0022,\u0022max_difficulty\u0022:2,\u0022multiple_choice\u0022:\u0022\u0022,\u0022task_mix\u0022:0.3,\u0022tasks\u0022:\u0022addition,brackets\u0022,\u0022test_fraction\u0022:0.05,\u0022valid_fraction\u0022:0.05},\u0022device\u0022:\u0022cpu\u0022,\u0022eval\u0022:{\u0022collapse_share\u0022:0.9,\u0022max_answer_tokens\u0022:4,\u0022target_loss\u0022:0.0,\u0022task_samples\u0022:2,\u0022text_batches\u0022:1},\u0022finetune\u0022:{\u0022batch_size\u0022:4,\u0022curriculum\u0022:\u0022none\u0022,\u0022curriculum_pool\u0022:256,\u0022eval_every\u0022:0,\u0022grad_clip\u0022:1.0,\u0022lora_rank\u0022:8,\u0022lr\u0022:0.001,\u0022mode\u0022:\u0022full\u0022,\u0022pacing\u0022:\u0022linear\u0022,\u0022steps\u0022:6,\u0022text_mix\u0022:0.5,\u0022warmup\u0022:10,\u0022weight_decay\u0022:0.0},\u0022model\u0022:{\u0022context\u0022:32,\u0022d_model\u0022:32,\u0022expert_hidden\u0022:32,\u0022experts\u0022:4,\u0022heads\u0022:2,\u0022layers\u0022:2,\u0022moe_layers\u0022:\u0022all\u0022,\u0022rope_theta\u0022:10000.0,\u0022shared_experts\u0022:0,\u0022vocab_size\u0022:300},\u0022pretrain\u0022:{\u0022batch_size\u0022:4,\u0022eval_every\u0022:0,\u0022grad_clip\u0022:1.0,\u0022k\u0022:2,\u0022lr\u0022:0.003,\u0022steps\u0022:12,\u0022warmup\u0022:30,\u0022weight_decay\u0022:0.1},\u0022router\u0022:{\u0022balance_coef\u0022:0.01,\u0022entropy_coef\u0022:0.0001,\u0022max_experts\u0022:0,\u0022normalize\u0022:false,\u0022p\u0022:0.4,\u0022type\u0022:\u0022top_p\u0022,\u0022z_loss_coef\u0022:0.0},\u0022seed\u0022:0,\u0022threads\u0022:0}","dotnet":".NET 10.0.12","torchsharp":"0.107.0","libtorch":"libtorch-cpu-linux-x64 2.10.0","device":"cpu (2 cores, 2 threads)","host":"vm","os":"Debian GNU/Linux 12 (bookworm)","command_line":"/tmp/old-build/orchestrator.dll sweep --spec /tmp/fixture/tiny.yaml --no-report","started_at":"2026-11-27T08:40:35.1677924Z","seed":"0","finished_at":"2026-11-27T08:40:40.5938149Z"}','local:10890');
INSERT INTO finetunes VALUES('05d0ebf4ef2ec5bc','91e4ea47c34015bf','completed',1,'{"data":{"corpus":"fortunes","max_difficulty":2,"task_mix":0.3,"tasks":"addition,brackets","test_fraction":0.05,"valid_fraction":0.05},"device":"cpu","eval":{"target_loss":0.0},"finetune":{"batch_size":4,"curriculum":"none","curriculum_pool":256,"eval_every":0,"grad_clip":1.0,"lora_rank":8,"lr":0.001,"mode":"full","pacing":"linear","steps":6,"text_mix":0.5,"warmup":10,"weight_decay":0.0},"model":{"context":32,"d_model":32,"expert_hidden":32,"experts":4,"heads":2,"layers":2,"moe_layers":"all","rope_theta":10000.0,"shared_experts":0,"vocab_size":300},"pretrain":{"batch_size":4,"eval_every":0,"grad_clip":1.0,"k":2,"lr":0.003,"steps":12,"warmup":30,"weight_decay":0.1},"router":{"balance_coef":0.01,"normalize":true,"threshold":0.1,"type":"adaptive_gating","z_loss_coef":0.0},"seed":0,"threads":0}','/tmp/fixture/results/finetunes/05d0ebf4ef2ec5bc/model.bin','f1ac8adbb187b06c6c3678fc9a02444b845762b169bf0181b17639fb5707c33b',NULL,0,NULL,NULL,NULL,'2026-11-27T08:40:09.328Z','2026-11-27T08:40:50.525Z','2026-11-27T08:41:00.474Z','{"git_commit":"ce62c3cbe990da445f0d71af7bccb4f135dbc1c6","git_dirty":"true","spec":"/tmp/fixture/tiny.yaml","config_json":"{\u0022data\u0022:{\u0022corpus\u0022:\u0022fortunes\u0022,\u0022max_difficulty\u0022:2,\u0022multiple_choice\u0022:\u0022\u0022,\u0022task_mix\u0022:0.3,\u0022tasks\u0022:\u0022addition,brackets\u0022,\u0022test_fraction\u0022:0.05,\u0022valid_fraction\u0022:0.05},\u0022device\u0022:\u0022cpu\u0022,\u0022eval\u0022:{\u0022collapse_share\u0022:0.9,\u0022max_answer_tokens\u0022:4,\u0022target_loss\u0022:0.0,\u0022task_samples\u0022:2,\u0022text_batches\u0022:1},\u0022finetune\u0022:{\u0022batch_size\u0022:4,\u0022curriculum\u0022:\u0022none\u0022,\u0022curriculum_pool\u0022:256,\u0022eval_every\u0022:0,\u0022grad_clip\u0022:1.0,\u0022lora_rank\u0022:8,\u0022lr\u0022:0.001,\u0022mode\u0022:\u0022full\u0022,\u0022pacing\u0022:\u0022linear\u0022,\u0022steps\u0022:6,\u0022text_mix\u0022:0.5,\u0022warmup\u0022:10,\u0022weight_decay\u0022:0.0},\u0022model\u0022:{\u0022context\u0022:32,\u0022d_model\u0022:32,\u0022expert_hidden\u0022:32,\u0022experts\u0022:4,\u0022heads\u0022:2,\u0022layers\u0022:2,\u0022moe_layers\u0022:\u0022all\u0022,\u0022rope_theta\u0022:10000.0,\u0022shared_experts\u0022:0,\u0022vocab_size\u0022:300},\u0022pretrain\u0022:{\u0022batch_size\u0022:4,\u0022eval_every\u0022:0,\u0022grad_clip\u0022:1.0,\u0022k\u0022:2,\u0022lr\u0022:0.003,\u0022steps\u0022:12,\u0022warmup\u0022:30,\u0022weight_decay\u0022:0.1},\u0022router\u0022:{\u0022balance_coef\u0022:0.01,\u0022normalize\u0022:true,\u0022threshold\u0022:0.1,\u0022type\u0022:\u0022adaptive_gating\u0022,\u0022z_loss_coef\u0022:0.0},\u0022seed\u0022:0,\u0022threads\u0022:0}","dotnet":".NET 10.0.12","torchsharp":"0.107.0","libtorch":"libtorch-cpu-linux-x64 2.10.0","device":"cpu (2 cores, 2 threads)","host":"vm","os":"Debian GNU/Linux 12 (bookworm)","command_line":"/tmp/old-build/orchestrator.dll sweep --spec /tmp/fixture/tiny.yaml --no-report","started_at":"2026-11-27T08:40:51.6995020Z","seed":"0","finished_at":"2026-11-27T08:40:59.9928585Z"}','local:11141');
DELETE FROM sqlite_sequence;
INSERT INTO sqlite_sequence VALUES('events',4);
CREATE INDEX runs_sweep ON runs(sweep);
CREATE INDEX runs_base ON runs(base_hash, router);
CREATE INDEX events_job ON events(job_id);
CREATE INDEX runs_finetune ON runs(finetune_hash);
CREATE VIEW run_summary AS
WITH baseline AS (
  SELECT base_hash, avg(flops_per_token) AS flops_per_token
  FROM runs
  WHERE router = 'top_k' AND status = 'completed' AND json_extract(knobs, '$.k') = pretrain_k
  GROUP BY base_hash
)
SELECT r.run_id, r.sweep, r.router, r.knobs, r.curriculum, r.seed, r.status,
       r.eval_loss, r.perplexity, r.accuracy, r.mean_experts_per_token, r.flops_per_token,
       b.flops_per_token / r.flops_per_token AS speedup_vs_topk,
       r.group_hash, r.config_hash, r.base_hash, r.attempt, r.finished_at, r.duration_seconds
FROM runs r
LEFT JOIN baseline b ON b.base_hash = r.base_hash;
CREATE VIEW run_metrics AS
SELECT r.run_id, m.phase, m.key, m.step, m.value, m.wall_seconds
FROM runs r JOIN metrics m ON m.job_id = 'finetune:' || r.finetune_hash
UNION ALL
SELECT m.job_id AS run_id, m.phase, m.key, m.step, m.value, m.wall_seconds
FROM metrics m WHERE m.job_id IN (SELECT run_id FROM runs);
CREATE VIEW run_events AS
SELECT r.run_id, e.time, e.kind, e.message, e.step
FROM runs r JOIN events e ON e.job_id = 'finetune:' || r.finetune_hash
UNION ALL
SELECT e.job_id AS run_id, e.time, e.kind, e.message, e.step
FROM events e WHERE e.job_id IN (SELECT run_id FROM runs);
CREATE VIEW usage_by_layer AS
SELECT run_id, layer, mean_experts_per_token, null_rate, entropy, margin, tokens
FROM routing_stats;
CREATE VIEW usage_by_difficulty AS
SELECT run_id, task, difficulty, accuracy, mean_experts_per_token, samples, answer_loss
FROM task_results;
CREATE VIEW usage_by_token_class AS
SELECT run_id, layer, token_class, tokens, mean_experts_per_token
FROM token_class_usage;
COMMIT;
PRAGMA user_version = 4;
