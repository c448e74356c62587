package trace

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const childDirEnv = "LOCOSIM_TRACE_TEST_CHILD_DIR"

// TestKilledProcess runs a real writer in a child process, kills it with
// SIGKILL mid-write and checks that no file exists under the final name.
func TestKilledProcess(t *testing.T) {
	if dir := os.Getenv(childDirEnv); dir != "" {
		w, err := Create[row](filepath.Join(dir, "evals.parquet"), RowGroupRows(100))
		if err != nil {
			os.Exit(2)
		}
		for i := 0; ; i++ {
			if err := w.Write(makeRows(1000)...); err != nil {
				os.Exit(3)
			}
			if i == 2 {
				os.Stdout.WriteString("ready\n")
			}
			time.Sleep(time.Millisecond)
		}
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledProcess$")
	cmd.Env = append(os.Environ(), childDirEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child did not start writing: %q, %v", line, err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if _, err := os.Stat(filepath.Join(dir, "evals.parquet")); !os.IsNotExist(err) {
		t.Fatalf("killed writer left a file under the final name (stat: %v)", err)
	}
	names := dirNames(t, dir)
	if len(names) != 1 || !strings.HasPrefix(names[0], ".evals.parquet.tmp-") {
		t.Fatalf("directory holds %v, want one temporary file", names)
	}
	if removed, err := RemoveTemp(dir); err != nil || len(removed) != 1 {
		t.Errorf("RemoveTemp = %v, %v", removed, err)
	}
}
