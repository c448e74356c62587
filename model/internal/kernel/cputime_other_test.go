//go:build !linux

package kernel

func threadCPU() int64 { return 0 }
