package main

import "testing"

func TestParseShard(t *testing.T) {
	for _, tc := range []struct {
		flag       string
		env        map[string]string
		i, n       int
		wantErrors bool
	}{
		{"", nil, 0, 0, false},
		{"1/4", nil, 1, 4, false},
		{"1/4", map[string]string{"SLURM_ARRAY_TASK_ID": "3"}, 1, 4, false}, // the flag wins
		{"4", map[string]string{"SLURM_ARRAY_TASK_ID": "2"}, 2, 4, false},
		{"4", map[string]string{"JOB_COMPLETION_INDEX": "3"}, 3, 4, false},
		{"", map[string]string{"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "5"}, 2, 5, false},
		{"", map[string]string{"JOB_COMPLETION_INDEX": "2"}, 0, 0, false}, // no count: not sharded
		{"4", nil, 0, 0, true},
		{"4/4", nil, 0, 0, true},
		{"-1/4", nil, 0, 0, true},
		{"1/0", nil, 0, 0, true},
		{"a/b", nil, 0, 0, true},
		{"4", map[string]string{"JOB_COMPLETION_INDEX": "x"}, 0, 0, true},
		{"4", map[string]string{"JOB_COMPLETION_INDEX": "4"}, 0, 0, true},
	} {
		i, n, err := parseShard(tc.flag, func(k string) string { return tc.env[k] })
		if (err != nil) != tc.wantErrors || i != tc.i || n != tc.n {
			t.Errorf("parseShard(%q, %v) = %d, %d, %v; want %d, %d, error %v", tc.flag, tc.env, i, n, err, tc.i, tc.n, tc.wantErrors)
		}
	}
}
