// Package notebooks holds locosim's Jupyter notebooks, which read run and
// sweep directories with pandas, pyarrow and matplotlib:
//
//	01_quickstart.ipynb      one run: manifest, loss against rounds, time and bytes, node timeline
//	02_convergence.ipynb     a sweep: density x H, SparseLoCo against DiLoCo, ablations, loss-bytes frontier
//	03_network.ipynb         one run's network: utilisation, stragglers, deadlines; heterogeneity across a sweep
//	04_error_feedback.ipynb  error feedback and top-k step by step on a toy tensor (locosim explain)
//
// Each notebook takes its directory from one variable in its first code
// cell, which an environment variable overrides (NOTEBOOK_RUN_DIR,
// NOTEBOOK_SWEEP_DIR, NOTEBOOK_EXPLAIN_DIR). The notebooks are stored without
// outputs.
//
// The package has no Go code beyond this comment: its test checks that
// every notebook is stored clean and, when a Python with the pinned
// requirements.txt is available, makes a small run, a small sweep and the
// toy export with the locosim command and executes every notebook headless
// against them. Without such a Python the execution is skipped, unless
// NOTEBOOKS_REQUIRED=1 (as in CI), which makes it a failure.
// NOTEBOOKS_PYTHON names the interpreter (default python3). None of these
// variables starts with LOCOSIM_: the CLI reads every such variable as a
// config key and rejects the ones it does not know.
package notebooks
