package netmodel

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// NodeRow is one row of a node table. A row that names a class takes every
// field it leaves at zero from that class (bandwidths at their median);
// coordinates default to 0.
type NodeRow struct {
	Node            int     `mapstructure:"node" yaml:"node"`
	Class           string  `mapstructure:"class" yaml:"class"`
	PeakTflops      float64 `mapstructure:"peak_tflops" yaml:"peak_tflops"`
	Utilization     float64 `mapstructure:"utilization" yaml:"utilization"`
	BwUpMbps        float64 `mapstructure:"bw_up_mbps" yaml:"bw_up_mbps"`
	BwDownMbps      float64 `mapstructure:"bw_down_mbps" yaml:"bw_down_mbps"`
	AccessLatencyMs float64 `mapstructure:"access_latency_ms" yaml:"access_latency_ms"`
	XMs             float64 `mapstructure:"x_ms" yaml:"x_ms"`
	YMs             float64 `mapstructure:"y_ms" yaml:"y_ms"`
}

var tableColumns = []string{"node", "class", "peak_tflops", "utilization", "bw_up_mbps",
	"bw_down_mbps", "access_latency_ms", "x_ms", "y_ms"}

// ParseNodeTable reads a node table. name picks the format by extension:
// .csv (a header row naming columns from NodeRow's keys, in any order) or
// .yaml/.yml (a list of rows). Rows must number their nodes 0..n-1 (in any
// order); a table without a node column is numbered in row order.
func ParseNodeTable(r io.Reader, name string) ([]NodeRow, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	var rows []NodeRow
	numbered := true
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		rows, numbered, err = parseCSVTable(data)
	case ".yaml", ".yml":
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err = dec.Decode(&rows); err != nil && !errors.Is(err, io.EOF) {
			err = fmt.Errorf("node table %s: %w", name, err)
		} else {
			err = nil
		}
	default:
		return nil, fmt.Errorf("node table %q: unknown format (want .csv, .yaml or .yml)", name)
	}
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("node table %s has no rows", name)
	}
	out := make([]NodeRow, len(rows))
	seen := make([]bool, len(rows))
	for i, r := range rows {
		if !numbered {
			r.Node = i
		}
		if r.Node < 0 || r.Node >= len(rows) || seen[r.Node] {
			return nil, fmt.Errorf("node table %s row %d: node %d is out of range [0, %d) or repeated", name, i+1, r.Node, len(rows))
		}
		seen[r.Node] = true
		out[r.Node] = r
	}
	return out, nil
}

func parseCSVTable(data []byte) ([]NodeRow, bool, error) {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.TrimLeadingSpace = true
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, false, fmt.Errorf("node table: %w", err)
	}
	if len(recs) == 0 {
		return nil, false, errors.New("node table: empty file")
	}
	col := map[string]int{}
	for j, h := range recs[0] {
		h = strings.ToLower(strings.TrimSpace(h))
		known := false
		for _, c := range tableColumns {
			known = known || c == h
		}
		if !known {
			return nil, false, fmt.Errorf("node table: unknown column %q (known: %s)", h, strings.Join(tableColumns, ", "))
		}
		if _, dup := col[h]; dup {
			return nil, false, fmt.Errorf("node table: column %q appears twice", h)
		}
		col[h] = j
	}
	_, numbered := col["node"]
	var rows []NodeRow
	for i, rec := range recs[1:] {
		var r NodeRow
		num := func(name string, dst *float64) error {
			j, ok := col[name]
			if !ok || strings.TrimSpace(rec[j]) == "" {
				return nil
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(rec[j]), 64)
			if err != nil {
				return fmt.Errorf("node table row %d column %s: %w", i+2, name, err)
			}
			*dst = v
			return nil
		}
		if j, ok := col["node"]; ok {
			v, err := strconv.Atoi(strings.TrimSpace(rec[j]))
			if err != nil {
				return nil, false, fmt.Errorf("node table row %d column node: %w", i+2, err)
			}
			r.Node = v
		}
		if j, ok := col["class"]; ok {
			r.Class = strings.TrimSpace(rec[j])
		}
		for _, p := range []struct {
			name string
			dst  *float64
		}{{"peak_tflops", &r.PeakTflops}, {"utilization", &r.Utilization}, {"bw_up_mbps", &r.BwUpMbps},
			{"bw_down_mbps", &r.BwDownMbps}, {"access_latency_ms", &r.AccessLatencyMs}, {"x_ms", &r.XMs}, {"y_ms", &r.YMs}} {
			if err := num(p.name, p.dst); err != nil {
				return nil, false, err
			}
		}
		rows = append(rows, r)
	}
	return rows, numbered, nil
}

// profile turns a row into a profile, filling zero fields from its class.
func (r NodeRow) profile(id int, classes map[string]*ClassConfig) (Profile, error) {
	var cl *ClassConfig
	if r.Class != "" {
		cl = classes[r.Class]
		if cl == nil {
			return Profile{}, fmt.Errorf("node %d: unknown class %q", id, r.Class)
		}
	}
	fill := func(name string, v float64, fromClass func(*ClassConfig) float64, zeroOK bool) (float64, error) {
		if !finite(v) || v < 0 {
			return 0, fmt.Errorf("node %d: %s = %g must be non-negative", id, name, v)
		}
		if v == 0 && cl != nil {
			v = fromClass(cl)
		}
		if v == 0 && !zeroOK {
			return 0, fmt.Errorf("node %d: %s is missing and no class supplies it", id, name)
		}
		return v, nil
	}
	p := Profile{ID: id, Class: r.Class, XMs: r.XMs, YMs: r.YMs}
	if p.Class == "" {
		p.Class = "table"
	}
	var err error
	var tf float64
	for _, f := range []struct {
		name   string
		v      float64
		dst    *float64
		class  func(*ClassConfig) float64
		zeroOK bool
	}{
		{"peak_tflops", r.PeakTflops, &tf, func(c *ClassConfig) float64 { return c.PeakTflops }, false},
		{"utilization", r.Utilization, &p.Utilization, func(c *ClassConfig) float64 { return c.Utilization }, false},
		{"bw_up_mbps", r.BwUpMbps, &p.BwUpMbps, func(c *ClassConfig) float64 { return c.BwUpMbps }, false},
		{"bw_down_mbps", r.BwDownMbps, &p.BwDownMbps, func(c *ClassConfig) float64 { return c.BwDownMbps }, false},
		{"access_latency_ms", r.AccessLatencyMs, &p.AccessLatencyMs, func(c *ClassConfig) float64 { return c.AccessLatencyMs }, true},
	} {
		if *f.dst, err = fill(f.name, f.v, f.class, f.zeroOK); err != nil {
			return Profile{}, err
		}
	}
	if p.Utilization > 1 {
		return Profile{}, fmt.Errorf("node %d: utilization %g > 1", id, p.Utilization)
	}
	if !finite(p.XMs) || !finite(p.YMs) {
		return Profile{}, fmt.Errorf("node %d: coordinates must be finite", id)
	}
	p.PeakFlops = tf * 1e12
	return p, nil
}

// ParseMatrix reads a square CSV matrix of latencies in ms (no header).
func ParseMatrix(r io.Reader) ([][]float64, error) {
	cr := csv.NewReader(r)
	cr.TrimLeadingSpace = true
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("latency matrix: %w", err)
	}
	m := make([][]float64, len(recs))
	for i, rec := range recs {
		m[i] = make([]float64, len(rec))
		for j, s := range rec {
			v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil || math.IsNaN(v) {
				return nil, fmt.Errorf("latency matrix row %d column %d: %q is not a number", i+1, j+1, s)
			}
			m[i][j] = v
		}
	}
	return m, nil
}
