# Orchestrator — the two commands a user types: `make sweep` and `make test`.
# Everything else is optional. Variables: SPEC, ARGS, SWEEP, SWEEPS, SQL, NAME, FORMAT, OUT, MODEL, TEXT, TOKENS,
# TORCH, CONFIG.
TORCH  ?= cpu
CONFIG ?= Release
SPEC   ?= experiments/default.yaml
FORMAT ?= table
export TORCH CONFIG

ORCH := dotnet src/Orchestrator.Cli/bin/$(CONFIG)/net10.0/publish/orchestrator.dll
# Which make variable sets which flag, so that an error about a flag the user never typed names the variable.
export ORCHESTRATOR_MAKE_VARS := spec=SPEC sweep=SWEEP sweeps=SWEEPS format=FORMAT name=NAME out=OUT model=MODEL \
  tokens=TOKENS

.PHONY: setup sweep plan status cancel query report export export-hf score test bench gpu-bundle clean help

help:
	@echo "make sweep [SPEC=experiments/x.yaml] [ARGS=\"finetune.steps=50 seeds=[0]\"] [TORCH=cuda]"
	@echo "make plan SPEC=... [FORMAT=csv|json]    expanded runs and their status; runs nothing"
	@echo "make status [SWEEP=name] [FORMAT=csv|json]  a sweep's state from the database (SLURM states too)"
	@echo "make cancel SWEEP=name    scancel a sweep's SLURM jobs; make sweep again re-runs them"
	@echo "make query SQL=\"SELECT * FROM run_summary\" [FORMAT=csv|json]   or NAME=<experiments/queries/NAME.sql>"
	@echo "make report SWEEP=name    or SWEEPS=\"a b\" to compare sweeps"
	@echo "make export [OUT=dir]     every table and view as Parquet (default results/export/)"
	@echo "make score MODEL=hf:DIR TEXT=\"...\"  per-token log-probabilities and experts (or MODEL=<run id>, TOKENS=1,2,3)"
	@echo "make export-hf MODEL=<run id> OUT=DIR   a model as a Hugging Face folder (safetensors, config.json)"
	@echo "make test                 the whole test suite"
	@echo "make bench                benchmarks, written to results/bench/"
	@echo "make gpu-bundle           one file to run on a host with PyTorch but no .NET (docs/gpu-run.md)"

# Idempotent: installs missing packages, restores and builds.
setup:
	@bash build/setup.sh

sweep: setup
	$(ORCH) sweep --spec $(SPEC) $(ARGS)

plan: setup
	@$(ORCH) plan --spec $(SPEC) --format $(FORMAT) $(ARGS)

status: setup
	@$(ORCH) status $(if $(SWEEP),--sweep "$(SWEEP)") --format $(FORMAT) $(ARGS)

cancel: setup
	@$(ORCH) cancel $(if $(SWEEP),--sweep "$(SWEEP)") $(ARGS)

# SQL reaches the program through the environment, unexpanded by make, so quotes and $ survive.
QUERY_SQL := $(value SQL)
export QUERY_SQL
SCORE_TEXT := $(value TEXT)
export SCORE_TEXT
query: setup
	@if [ -n "$(NAME)" ]; then $(ORCH) query --name "$(NAME)" --format $(FORMAT) $(ARGS); else $(ORCH) query --format $(FORMAT) $(ARGS) "$$QUERY_SQL"; fi

report: setup
	@$(ORCH) report $(if $(SWEEPS),--sweeps "$(SWEEPS)",$(if $(SWEEP),--sweep "$(SWEEP)")) $(ARGS)

export: setup
	@$(ORCH) export $(if $(OUT),--out "$(OUT)") $(ARGS)

export-hf: setup
	@$(ORCH) export-hf --model "$(MODEL)" --out "$(OUT)" $(ARGS)

score: setup
	@$(ORCH) score --model "$(MODEL)" $(if $(TOKENS),--tokens "$(TOKENS)",--text "$$SCORE_TEXT") $(ARGS)

test: setup
	CONFIG=$(CONFIG) TORCH=$(TORCH) bash build/test.sh $(ARGS)

bench: setup
	$(ORCH) bench $(ARGS)

# A self-contained bundle for hosts without .NET or a NuGet feed that have a Python PyTorch (docs/gpu-run.md).
gpu-bundle: setup
	bash build/gpu-bundle.sh

clean:
	dotnet clean Orchestrator.sln -c $(CONFIG) -v:q
