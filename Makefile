# Orchestrator — the two commands a user types: `make sweep` and `make test`.
# Everything else is optional. Variables: SPEC, ARGS, SWEEP, SWEEPS, SQL, NAME, FORMAT, TORCH, CONFIG.
TORCH  ?= cpu
CONFIG ?= Release
SPEC   ?= experiments/default.yaml
FORMAT ?= table
export TORCH CONFIG

ORCH := dotnet src/Orchestrator.Cli/bin/$(CONFIG)/net10.0/orchestrator.dll

.PHONY: setup sweep plan status cancel query report test bench clean help

help:
	@echo "make sweep [SPEC=experiments/x.yaml] [ARGS=\"finetune.steps=50 seeds=[0]\"] [TORCH=cuda]"
	@echo "make plan SPEC=...        expanded runs and their status; runs nothing"
	@echo "make status [SWEEP=name]  a sweep's state from the database (SLURM job ids and states too)"
	@echo "make cancel SWEEP=name    scancel a sweep's SLURM jobs; make sweep again re-runs them"
	@echo "make query SQL=\"SELECT * FROM run_summary\" [FORMAT=csv|json]   or NAME=<experiments/queries/NAME.sql>"
	@echo "make report SWEEP=name    or SWEEPS=\"a b\" to compare sweeps"
	@echo "make test                 the whole test suite"
	@echo "make bench                benchmarks, written to results/bench/"

# Idempotent: installs missing packages, restores and builds.
setup:
	@bash build/setup.sh

sweep: setup
	$(ORCH) sweep --spec $(SPEC) $(ARGS)

plan: setup
	@$(ORCH) plan --spec $(SPEC) $(ARGS)

status: setup
	@$(ORCH) status $(if $(SWEEP),--sweep $(SWEEP))

cancel: setup
	@$(ORCH) cancel --sweep $(SWEEP)

# SQL reaches the program through the environment, unexpanded by make, so quotes and $ survive.
QUERY_SQL := $(value SQL)
export QUERY_SQL
query: setup
	@if [ -n "$(NAME)" ]; then $(ORCH) query --name "$(NAME)" --format $(FORMAT) $(ARGS); else $(ORCH) query --format $(FORMAT) $(ARGS) "$$QUERY_SQL"; fi

report: setup
	@$(ORCH) report $(if $(SWEEPS),--sweeps "$(SWEEPS)",--sweep $(SWEEP))

test: setup
	dotnet test tests/Orchestrator.Tests/Orchestrator.Tests.csproj -c $(CONFIG) -p:Torch=$(TORCH) --no-build --logger "console;verbosity=normal"

bench: setup
	$(ORCH) bench $(ARGS)

clean:
	dotnet clean Orchestrator.sln -c $(CONFIG) -v:q
