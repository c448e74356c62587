//go:build !linux

package model

func processCPU() int64 { return 0 }
