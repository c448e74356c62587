package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/locosim/locosim/claims"
)

// claims on a directory with no experiment: every claim is "not run", and
// the report is written there.
func TestClaimsCommand(t *testing.T) {
	dir := t.TempDir()
	out, err := execute(t, "claims", dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, claims.File)
	for _, want := range []string{path + "\n", "reproduced:     0\n", "not run:        " + strconv.Itoa(len(claims.Registry)) + "\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("claims output lacks %q:\n%s", want, out)
		}
	}
	page, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(page), "| not run ("); got != len(claims.Registry) {
		t.Errorf("%d rows not run, want %d", got, len(claims.Registry))
	}
	if _, err := execute(t, "claims", dir, "extra"); err == nil {
		t.Error("claims with two arguments: no error")
	}
}
