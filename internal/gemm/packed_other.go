//go:build !amd64 || purego

package gemm

// Packed is a packed operand of the fast paths; no architecture but amd64
// has one, so PackedAvailable is false and the methods panic.
type Packed struct{}

// PackedAvailable reports whether Packed products can run.
func PackedAvailable() bool { return false }

// TileRows is the number of rows of C one micro-kernel call computes: 1.
func TileRows() int { return 1 }

// PackRows panics: there is no fast path on this architecture.
func (p *Packed) PackRows(src []float32, ld, k, n int) {
	panic("gemm: no fast path on this architecture")
}

// PackCols panics: there is no fast path on this architecture.
func (p *Packed) PackCols(src []float32, ld, k, n int) {
	panic("gemm: no fast path on this architecture")
}

// MulPacked panics: there is no fast path on this architecture.
func MulPacked(c []float32, ldc int, a []float32, rs, cs, m int, b *Packed, q0, q1, n int, accumulate bool) {
	panic("gemm: no fast path on this architecture")
}
