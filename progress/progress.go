// Package progress reports the progress of a long run on the terminal.
//
// When the output is a terminal a Reporter draws a progress bar
// (github.com/schollz/progressbar/v3). Anywhere else (a log file, a CI job, a
// pipe) it prints plain, rate-limited lines instead, so logs stay readable
// and free of control characters. Table prints an aligned summary at the end
// of a run.
package progress

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Modes of Config.Mode.
const (
	ModeAuto  = "auto"  // a bar on a terminal, plain lines otherwise
	ModeBar   = "bar"   // always a bar
	ModePlain = "plain" // always plain lines
	ModeOff   = "off"   // print nothing
)

// Config holds the user-facing knobs of a Reporter.
type Config struct {
	Mode string `mapstructure:"mode" yaml:"mode"` // auto, bar, plain or off
	// Plain mode prints a line whenever progress crosses another multiple
	// of EveryPercent, or EveryS seconds have passed since the last line,
	// whichever comes first. Zero disables that trigger.
	EveryPercent float64 `mapstructure:"every_percent" yaml:"every_percent"`
	EveryS       float64 `mapstructure:"every_s" yaml:"every_s"`
}

// DefaultConfig prints a bar on terminals and otherwise a line every 10 %
// or every 30 s.
func DefaultConfig() Config {
	return Config{Mode: ModeAuto, EveryPercent: 10, EveryS: 30}
}

// Validate reports the first invalid key.
func (c Config) Validate() error {
	switch c.Mode {
	case ModeAuto, ModeBar, ModePlain, ModeOff:
	default:
		return fmt.Errorf("progress.mode: %q is not one of auto, bar, plain, off", c.Mode)
	}
	if c.EveryPercent < 0 || c.EveryPercent > 100 || math.IsNaN(c.EveryPercent) {
		return fmt.Errorf("progress.every_percent: %v is outside [0, 100]", c.EveryPercent)
	}
	if c.EveryS < 0 || math.IsNaN(c.EveryS) || math.IsInf(c.EveryS, 0) {
		return fmt.Errorf("progress.every_s: %v must be a finite number >= 0", c.EveryS)
	}
	return nil
}

// IsTerminal reports whether w is a terminal (a file whose descriptor is a
// tty).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// A Reporter tracks progress towards a total. Its methods are safe for
// concurrent use.
type Reporter struct {
	mu    sync.Mutex
	w     io.Writer
	total int
	label string
	cfg   Config
	bar   *progressbar.ProgressBar // nil unless drawing a bar

	now      func() time.Time // the wall clock; tests replace it
	start    time.Time
	lastLine time.Time
	lastStep int // highest EveryPercent step already printed
	done     int
	fields   string
	finished bool
}

// New returns a Reporter with DefaultConfig. A total <= 0 means unknown:
// no percentage or ETA is shown.
func New(w io.Writer, total int, label string) *Reporter {
	r, _ := NewWithConfig(w, total, label, DefaultConfig())
	return r
}

// NewWithConfig returns a Reporter configured by cfg, or the error of
// cfg.Validate.
func NewWithConfig(w io.Writer, total int, label string, cfg Config) (*Reporter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if w == nil {
		w = io.Discard
	}
	r := &Reporter{w: w, total: total, label: label, cfg: cfg, now: time.Now, lastStep: -1}
	r.start = r.now()
	r.lastLine = r.start
	if cfg.Mode == ModeBar || (cfg.Mode == ModeAuto && IsTerminal(w)) {
		r.bar = newBar(w, total, label)
	}
	return r, nil
}

func newBar(w io.Writer, total int, label string) *progressbar.ProgressBar {
	max := total
	if max <= 0 {
		max = -1 // the library's spinner for an unknown length
	}
	return progressbar.NewOptions(max,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(label),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetRenderBlankState(true),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)
}

// Update records that done units of the total are finished, with optional
// key/value fields shown beside the count (slog style:
// Update(7, "round", 7, "loss", 3.2)). Floats print with 4 significant
// digits; a key without a value prints as key=?.
func (r *Reporter) Update(done int, fields ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished || r.cfg.Mode == ModeOff {
		return
	}
	r.done = done
	r.fields = formatFields(fields)
	if r.bar != nil {
		desc := r.label
		if r.fields != "" {
			desc += " " + r.fields
		}
		r.bar.Describe(desc)
		r.bar.Set(done)
		return
	}
	now := r.now()
	due := r.cfg.EveryS > 0 && now.Sub(r.lastLine).Seconds() >= r.cfg.EveryS
	if r.total > 0 && r.cfg.EveryPercent > 0 {
		step := int(math.Floor(100 * float64(done) / float64(r.total) / r.cfg.EveryPercent))
		if step > r.lastStep {
			due = true
			r.lastStep = step
		}
	}
	if due {
		r.line(now, false)
	}
}

// Printf prints a line of text above the bar (or between the plain lines).
func (r *Reporter) Printf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cfg.Mode == ModeOff {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if !strings.HasSuffix(msg, "\n") {
		msg += "\n"
	}
	if r.bar != nil && !r.finished {
		r.bar.Clear()
		io.WriteString(r.w, msg)
		r.bar.RenderBlank()
		return
	}
	io.WriteString(r.w, msg)
}

// Finish completes the report: the bar is filled, or a final plain line is
// printed. Later calls do nothing.
func (r *Reporter) Finish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished || r.cfg.Mode == ModeOff {
		r.finished = true
		return
	}
	r.finished = true
	if r.bar != nil {
		if r.total > 0 {
			r.bar.Set(r.total)
		}
		r.bar.Finish()
		return
	}
	r.line(r.now(), true)
}

// line prints one plain progress line: label, count, percentage, fields,
// elapsed time and (before the end) the estimated time left.
func (r *Reporter) line(now time.Time, final bool) {
	r.lastLine = now
	elapsed := now.Sub(r.start)
	var b strings.Builder
	b.WriteString(r.label)
	if final {
		b.WriteString(" done")
	}
	if r.total > 0 {
		fmt.Fprintf(&b, " %d/%d (%.0f%%)", r.done, r.total, 100*float64(r.done)/float64(r.total))
	} else {
		fmt.Fprintf(&b, " %d", r.done)
	}
	if r.fields != "" {
		b.WriteString(" " + r.fields)
	}
	fmt.Fprintf(&b, " elapsed=%s", roundDuration(elapsed))
	if !final && r.total > 0 && r.done > 0 && r.done < r.total {
		left := time.Duration(float64(elapsed) * float64(r.total-r.done) / float64(r.done))
		fmt.Fprintf(&b, " eta=%s", roundDuration(left))
	}
	b.WriteByte('\n')
	io.WriteString(r.w, b.String())
}

// roundDuration keeps durations short: whole seconds above ten seconds,
// tenths below.
func roundDuration(d time.Duration) time.Duration {
	if d >= 10*time.Second {
		return d.Round(time.Second)
	}
	return d.Round(100 * time.Millisecond)
}

func formatFields(kv []any) string {
	var b strings.Builder
	for i := 0; i < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprint(&b, kv[i])
		b.WriteByte('=')
		if i+1 < len(kv) {
			b.WriteString(FormatValue(kv[i+1]))
		} else {
			b.WriteByte('?')
		}
	}
	return b.String()
}

// FormatValue formats a value for progress lines and tables: floats with 4
// significant digits, durations rounded, everything else with %v.
func FormatValue(v any) string {
	switch x := v.(type) {
	case float64:
		return formatFloat(x)
	case float32:
		return formatFloat(float64(x))
	case time.Duration:
		return roundDuration(x).String()
	default:
		return fmt.Sprint(v)
	}
}

func formatFloat(x float64) string {
	return fmt.Sprintf("%.4g", x)
}

// Stderr is a convenience for the common case: a Reporter on os.Stderr.
func Stderr(total int, label string) *Reporter { return New(os.Stderr, total, label) }
