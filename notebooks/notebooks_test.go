package notebooks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// The notebooks and the directories each one reads, by environment variable.
var notebooks = []struct {
	file string
	vars []string
}{
	{"01_quickstart.ipynb", []string{"NOTEBOOK_RUN_DIR"}},
	{"02_convergence.ipynb", []string{"NOTEBOOK_SWEEP_DIR"}},
	{"03_network.ipynb", []string{"NOTEBOOK_RUN_DIR", "NOTEBOOK_SWEEP_DIR"}},
	{"04_error_feedback.ipynb", []string{"NOTEBOOK_EXPLAIN_DIR"}},
}

// notebook is the part of the .ipynb format the checks read.
type notebook struct {
	NBFormat int `json:"nbformat"`
	Cells    []struct {
		CellType       string             `json:"cell_type"`
		Source         json.RawMessage    `json:"source"`
		Outputs        *[]json.RawMessage `json:"outputs"`
		ExecutionCount json.RawMessage    `json:"execution_count"`
	} `json:"cells"`
}

// source returns a cell's text: nbformat stores it as a string or a list of lines.
func source(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var lines []string
	if err := json.Unmarshal(raw, &lines); err != nil {
		return "", fmt.Errorf("source is neither a string nor a list of strings: %w", err)
	}
	return strings.Join(lines, ""), nil
}

// TestNotebooksStoredClean checks every notebook without running it: valid
// JSON in nbformat 4, no outputs and no execution counts (so diffs show
// only what a person changed), and a first code cell that takes the
// notebook's directories from the environment. Every notebook here must be
// listed in notebooks, so that the execution test runs it.
func TestNotebooksStoredClean(t *testing.T) {
	files, err := filepath.Glob("*.ipynb")
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, nb := range notebooks {
		listed = append(listed, nb.file)
	}
	slices.Sort(files)
	if !slices.Equal(files, listed) {
		t.Fatalf("notebooks on disk %v, listed in the test %v: list every notebook with the directories it reads", files, listed)
	}
	for _, nb := range notebooks {
		t.Run(nb.file, func(t *testing.T) {
			b, err := os.ReadFile(nb.file)
			if err != nil {
				t.Fatal(err)
			}
			var n notebook
			if err := json.Unmarshal(b, &n); err != nil {
				t.Fatalf("not valid JSON: %v", err)
			}
			if n.NBFormat != 4 || len(n.Cells) == 0 {
				t.Fatalf("nbformat %d with %d cells, want nbformat 4 with cells", n.NBFormat, len(n.Cells))
			}
			firstCode := ""
			for i, c := range n.Cells {
				src, err := source(c.Source)
				if err != nil {
					t.Fatalf("cell %d: %v", i, err)
				}
				switch c.CellType {
				case "code":
					if c.Outputs == nil || len(*c.Outputs) > 0 {
						t.Errorf("cell %d is stored with outputs: clear them before committing (Jupyter: Edit > Clear All Outputs)", i)
					}
					if string(c.ExecutionCount) != "null" {
						t.Errorf("cell %d is stored with execution count %s: clear outputs before committing", i, c.ExecutionCount)
					}
					if firstCode == "" {
						firstCode = src
					}
				case "markdown", "raw":
					if c.Outputs != nil {
						t.Errorf("%s cell %d has outputs", c.CellType, i)
					}
				default:
					t.Errorf("cell %d has unknown type %q", i, c.CellType)
				}
			}
			for _, v := range nb.vars {
				if !strings.Contains(firstCode, fmt.Sprintf("os.environ.get(%q", v)) {
					t.Errorf("the first code cell does not read %s from the environment:\n%s", v, firstCode)
				}
			}
		})
	}
}

// TestNotebooksExecute makes a small run, a deadline run, a small sweep and
// the toy export with the locosim command, then executes every notebook
// headless against them; any error in any cell fails.
func TestNotebooksExecute(t *testing.T) {
	required := os.Getenv("NOTEBOOKS_REQUIRED") == "1"
	python := os.Getenv("NOTEBOOKS_PYTHON")
	if python == "" {
		python = "python3"
	}
	unavailable := func(why string) {
		t.Helper()
		msg := fmt.Sprintf("notebooks not executed: %s with nbclient/pyarrow/pandas/matplotlib not found (%s); "+
			"CI installs notebooks/requirements.txt (set NOTEBOOKS_PYTHON to its interpreter)", python, why)
		if required {
			t.Fatal(msg + "; NOTEBOOKS_REQUIRED=1 makes this a failure")
		}
		t.Skip(msg)
	}
	if testing.Short() && !required {
		t.Skip("notebooks not executed in -short mode")
	}
	probe := exec.Command(python, "-c", "import nbclient, nbformat, ipykernel, pyarrow, pandas, matplotlib")
	if out, err := probe.CombinedOutput(); err != nil {
		unavailable(strings.TrimSpace(lastLines(string(out), 1) + " " + err.Error()))
	}

	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	work := t.TempDir()
	locosim := filepath.Join(work, "locosim")
	if runtime.GOOS == "windows" {
		locosim += ".exe"
	}
	run := func(name string, args ...string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, name, args...) // in the package directory: go build needs the module
		cmd.Env = withoutConfig(os.Environ())
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, lastLines(string(out), 30))
		}
	}
	start := time.Now()
	run(goTool(), "build", "-o", locosim, "github.com/locosim/locosim/cmd/locosim")

	small := []string{"--set", "cluster.nodes=8", "--set", "train.outer_rounds=4", "--set", "train.inner_steps=5",
		"--set", "train.eval_every=1", "--set", "train.optimizer.warmup_steps=2"}
	runDir := filepath.Join(work, "run")
	run(locosim, append([]string{"run", "-o", runDir}, small...)...)
	deadlineDir := filepath.Join(work, "deadline")
	run(locosim, append([]string{"run", "-o", deadlineDir, "--set", "sync.mode=deadline", "--set", "sync.deadline_s=45"}, small...)...)
	spec := filepath.Join(work, "sweep.yaml")
	if err := os.WriteFile(spec, []byte(sweepSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	sweepDir := filepath.Join(work, "sweep")
	run(locosim, "sweep", "-c", spec, "-o", sweepDir, "-j", "2")
	explainDir := filepath.Join(work, "explain")
	run(locosim, "explain", "-o", explainDir)
	t.Logf("locosim built, two runs, a sweep and the toy export made in %.1f s", time.Since(start).Seconds())

	dirs := map[string]map[string]string{
		"01_quickstart.ipynb":     {"NOTEBOOK_RUN_DIR": runDir},
		"02_convergence.ipynb":    {"NOTEBOOK_SWEEP_DIR": sweepDir},
		"03_network.ipynb":        {"NOTEBOOK_RUN_DIR": deadlineDir, "NOTEBOOK_SWEEP_DIR": sweepDir},
		"04_error_feedback.ipynb": {"NOTEBOOK_EXPLAIN_DIR": explainDir},
	}
	driver := filepath.Join(work, "execute.py")
	if err := os.WriteFile(driver, []byte(executeScript), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, nb := range notebooks {
		t.Run(nb.file, func(t *testing.T) {
			path, err := filepath.Abs(nb.file)
			if err != nil {
				t.Fatal(err)
			}
			executed := filepath.Join(work, "executed-"+nb.file)
			cmd := exec.CommandContext(ctx, python, driver, path, executed)
			cmd.Env = append(withoutConfig(os.Environ()), "MPLBACKEND=Agg", "PYDEVD_DISABLE_FILE_VALIDATION=1")
			for _, v := range nb.vars {
				cmd.Env = append(cmd.Env, v+"="+dirs[nb.file][v])
			}
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			begin := time.Now()
			if err := cmd.Run(); err != nil {
				t.Fatalf("executing %s: %v\n%s", nb.file, err, lastLines(out.String(), 60))
			}
			t.Logf("executed in %.1f s", time.Since(begin).Seconds())
		})
	}
}

// sweepSpec is a small sweep that gives every part of the notebooks
// something to draw: SparseLoCo over density x H, DiLoCo over its outer
// learning rate at the same H, an error-feedback ablation, two seeds (two
// draws of the network).
const sweepSpec = `name: notebooks
description: a small sweep for the notebook test
base:
  cluster: {nodes: 6}
  model: {layers: 1, channels: 32, heads: 2, seq_len: 16}
  train: {batch_size: 2, eval_batches: 2, outer_rounds: 3, eval_every: 1, optimizer: {warmup_steps: 2}}
grid:
  - strategy.kind: [sparseloco]
    strategy.density: [0.0156, 0.0625]
    train.inner_steps: [3, 6]
    strategy.compressor.error_feedback: [true]
  - strategy.kind: [diloco]
    strategy.outer_lr: [0.7, 1.0]
    train.inner_steps: [3, 6]
  - strategy.kind: [sparseloco]
    strategy.density: [0.0625]
    train.inner_steps: [3]
    strategy.compressor.error_feedback: [false]
seeds: 2
`

// executeScript runs one notebook headless in its own directory (so
// relative paths behave as in Jupyter) and writes the executed copy for
// inspection. A failing cell raises CellExecutionError, whose message
// holds the cell and its traceback.
const executeScript = `import os, sys
import nbformat
from nbclient import NotebookClient

src, out = sys.argv[1], sys.argv[2]
nb = nbformat.read(src, as_version=4)
client = NotebookClient(nb, timeout=300, kernel_name="python3",
                        resources={"metadata": {"path": os.path.dirname(src)}})
try:
    client.execute()
finally:
    nbformat.write(nb, out)
`

// withoutConfig drops LOCOSIM_ variables, which the CLI reads as config
// keys, so that the runs the notebooks read are the ones the test asks for.
func withoutConfig(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, "LOCOSIM_") })
}

// goTool is the go command of the toolchain running the test.
func goTool() string {
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return "go"
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
