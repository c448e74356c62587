package rundir

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/locosim/locosim/trace"
)

// IndexFile is the Markdown page that shows a run's figures and metrics.
const IndexFile = "index.md"

// WriteIndex writes dir/index.md: the run's final metrics and facts as
// tables and every figure in dir/plots, so a reader needs no code.
func WriteIndex(dir string) error {
	m, err := ReadManifest(dir)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s\n\n", filepath.Base(filepath.Clean(dir)))
	fmt.Fprintf(&b, "locosim %s (%s) `%s`, seed %d.", m.Version, m.GoVersion, m.Command, m.Seed)
	if m.EntropyFloorNats != nil {
		fmt.Fprintf(&b, " Entropy floor of the corpus: %.4g nats/token.", *m.EntropyFloorNats)
	}
	b.WriteString(" The resolved configuration is in `manifest.json`.\n\n")
	b.WriteString("## Final metrics\n\n| metric | value |\n| --- | --- |\n")
	for _, k := range sortedMapKeys(m.Final) {
		fmt.Fprintf(&b, "| %s | %s |\n", k, strconv.FormatFloat(m.Final[k], 'g', 5, 64))
	}
	if len(m.Info) > 0 {
		b.WriteString("\n## Facts\n\n| fact | value |\n| --- | --- |\n")
		for _, k := range sortedMapKeys(m.Info) {
			fmt.Fprintf(&b, "| %s | %v |\n", k, m.Info[k])
		}
	}
	ents, err := os.ReadDir(filepath.Join(dir, PlotsDir))
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	var figs []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".png"); ok {
			figs = append(figs, n)
		}
	}
	if len(figs) > 0 {
		b.WriteString("\n## Figures\n\n")
		for _, n := range figs {
			fmt.Fprintf(&b, "![%s](%s/%s.png)\n\n", n, PlotsDir, n)
		}
	}
	return trace.WriteFileAtomic(filepath.Join(dir, IndexFile), b.Bytes())
}

func sortedMapKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
