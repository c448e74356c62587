package plot

import (
	"strconv"
	"testing"

	"github.com/locosim/locosim/record"
)

// BenchmarkTimeline renders the timeline of 72 nodes over 20 rounds (5,760
// segments), the largest figure of a default run.
func BenchmarkTimeline(b *testing.B) {
	var ev []record.Event
	for n := range 72 {
		t := 0.0
		for r := range 20 {
			c := 10 + float64(n%7)*3
			ev = append(ev,
				record.Event{Node: int64(n), Round: int64(r), Kind: record.KindCompute, StartS: t, EndS: t + c},
				record.Event{Node: int64(n), Round: int64(r), Kind: record.KindUpload, StartS: t + c, EndS: t + c + 2},
				record.Event{Node: int64(n), Round: int64(r), Kind: record.KindWait, StartS: t + c + 2, EndS: t + 36},
				record.Event{Node: int64(n), Round: int64(r), Kind: record.KindDownload, StartS: t + 36, EndS: t + 40})
			t += 40
		}
	}
	rows := make([]string, 72)
	for i := range rows {
		rows[i] = strconv.Itoa(i)
	}
	tl := Timeline{Title: "activity", Rows: rows, Segments: SegmentsFromEvents(ev)}
	for _, format := range Formats {
		b.Run(format, func(b *testing.B) {
			for b.Loop() {
				if _, err := Render(tl, format); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
