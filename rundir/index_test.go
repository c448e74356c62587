package rundir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteIndex(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	writeRun(t, dir)
	if _, err := Plot(dir); err != nil {
		t.Fatal(err)
	}
	if err := WriteIndex(dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, want := range []string{"# run", "| eval_loss | 3 |", "Entropy floor of the corpus: 1.25", "![loss](plots/loss.png)", "![timeline](plots/timeline.png)"} {
		if !strings.Contains(page, want) {
			t.Errorf("index.md lacks %q:\n%s", want, page)
		}
	}
	if err := WriteIndex(t.TempDir()); err == nil {
		t.Error("WriteIndex of a directory without a manifest succeeded")
	}
}
