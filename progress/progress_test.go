package progress

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

// fakeClock is a wall clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newPlain(t *testing.T, total int, cfg Config) (*Reporter, *bytes.Buffer, *fakeClock) {
	t.Helper()
	var buf bytes.Buffer
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	r, err := NewWithConfig(&buf, total, "run", cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.now = clock.now
	r.start, r.lastLine = clock.t, clock.t
	return r, &buf, clock
}

func lines(buf *bytes.Buffer) []string {
	s := strings.TrimSuffix(buf.String(), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func TestPlainEveryPercent(t *testing.T) {
	r, buf, clock := newPlain(t, 200, Config{Mode: ModeAuto, EveryPercent: 25})
	if r.bar != nil {
		t.Fatal("a bytes.Buffer got a progress bar")
	}
	for done := 1; done <= 200; done++ {
		clock.advance(time.Second)
		r.Update(done, "round", done, "loss", 5.0-float64(done)/100)
	}
	r.Finish()
	r.Finish()  // idempotent
	r.Update(7) // ignored after Finish
	got := lines(buf)
	want := []string{
		"run 1/200 (0%) round=1 loss=4.99 elapsed=1s eta=3m19s",
		"run 50/200 (25%) round=50 loss=4.5 elapsed=50s eta=2m30s",
		"run 100/200 (50%) round=100 loss=4 elapsed=1m40s eta=1m40s",
		"run 150/200 (75%) round=150 loss=3.5 elapsed=2m30s eta=50s",
		"run 200/200 (100%) round=200 loss=3 elapsed=3m20s",
		"run done 200/200 (100%) round=200 loss=3 elapsed=3m20s",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got lines\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if strings.ContainsRune(buf.String(), '\r') || strings.ContainsRune(buf.String(), '\x1b') {
		t.Error("plain output holds control characters")
	}
}

func TestPlainEverySeconds(t *testing.T) {
	r, buf, clock := newPlain(t, 0, Config{Mode: ModePlain, EveryS: 10})
	for done := 1; done <= 35; done++ {
		clock.advance(time.Second)
		r.Update(done)
	}
	got := lines(buf)
	want := []string{"run 10 elapsed=10s", "run 20 elapsed=20s", "run 30 elapsed=30s"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestRateLimited: many fast updates print at most one line per step.
func TestRateLimited(t *testing.T) {
	r, buf, _ := newPlain(t, 1_000_000, DefaultConfig())
	for done := 0; done <= 1_000_000; done += 7 {
		r.Update(done)
	}
	if n := len(lines(buf)); n > 11 {
		t.Errorf("%d lines for 10%% steps, want at most 11", n)
	}
}

func TestOffAndPrintf(t *testing.T) {
	r, buf, _ := newPlain(t, 10, Config{Mode: ModeOff, EveryPercent: 10})
	r.Update(5)
	r.Printf("hello")
	r.Finish()
	if buf.Len() != 0 {
		t.Errorf("mode off printed %q", buf.String())
	}
	r, buf, _ = newPlain(t, 10, DefaultConfig())
	r.Printf("eval at round %d", 3)
	if buf.String() != "eval at round 3\n" {
		t.Errorf("Printf wrote %q", buf.String())
	}
}

// TestForcedBar draws a real bar into a buffer: it must show the label and
// the count, and end with the full count.
func TestForcedBar(t *testing.T) {
	var buf bytes.Buffer
	r, err := NewWithConfig(&buf, 4, "train", Config{Mode: ModeBar})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 4; i++ {
		r.Update(i, "loss", 1.5)
	}
	r.Finish()
	out := buf.String()
	for _, want := range []string{"train", "4/4", "loss=1.5"} {
		if !strings.Contains(out, want) {
			t.Errorf("bar output %q lacks %q", out, want)
		}
	}
}

func TestIsTerminal(t *testing.T) {
	if IsTerminal(&bytes.Buffer{}) {
		t.Error("a buffer is a terminal")
	}
	f, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) {
		t.Error("a regular file is a terminal")
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		mutate func(*Config)
		key    string
	}{
		{func(c *Config) { c.Mode = "fancy" }, "progress.mode"},
		{func(c *Config) { c.EveryPercent = -1 }, "progress.every_percent"},
		{func(c *Config) { c.EveryPercent = 101 }, "progress.every_percent"},
		{func(c *Config) { c.EveryS = -2 }, "progress.every_s"},
	}
	for _, tc := range tests {
		c := DefaultConfig()
		tc.mutate(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("Validate(%+v) = %v, want an error naming %s", c, err, tc.key)
		}
		if _, err := NewWithConfig(nil, 1, "x", c); err == nil {
			t.Errorf("NewWithConfig accepted %+v", c)
		}
	}
}

func TestFormatValue(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{3.14159265, "3.142"},
		{float32(0.000123456), "0.0001235"},
		{1e9, "1e+09"},
		{42, "42"},
		{"sparseloco", "sparseloco"},
		{1234567 * time.Microsecond, "1.2s"},
		{true, "true"},
	}
	for _, tc := range tests {
		if got := FormatValue(tc.in); got != tc.want {
			t.Errorf("FormatValue(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := formatFields([]any{"a", 1, "b"}); got != "a=1 b=?" {
		t.Errorf("formatFields with a missing value = %q", got)
	}
}

// TestConcurrentUpdates: replicas may report from their own goroutines.
func TestConcurrentUpdates(t *testing.T) {
	r, buf, _ := newPlain(t, 1000, DefaultConfig())
	done := make(chan bool)
	for g := range 4 {
		go func() {
			for i := g; i < 1000; i += 4 {
				r.Update(i, "g", g)
			}
			done <- true
		}()
	}
	for range 4 {
		<-done
	}
	r.Finish()
	if !strings.Contains(buf.String(), "run done") {
		t.Errorf("no final line in %q", buf.String())
	}
}
