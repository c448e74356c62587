package model

import (
	"github.com/locosim/locosim/internal/gemm"
	"github.com/locosim/locosim/model/internal/kernel"
)

// Kernels names the implementations in use, for logs and run manifests:
// the matrix products' ("avx512", "avx2" or "go") and the other kernels'
// ("avx2" or "go"), e.g. "gemm=avx2 kernels=avx2".
func Kernels() string {
	k := "go"
	if kernel.Accelerated() {
		k = "avx2"
	}
	return "gemm=" + gemm.Impl() + " kernels=" + k
}
