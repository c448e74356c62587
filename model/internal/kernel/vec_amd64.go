//go:build !purego

package kernel

import "golang.org/x/sys/cpu"

var cpuHasFast = cpu.X86.HasAVX2 && cpu.X86.HasFMA

func init() { useFast = cpuHasFast }

//go:noescape
func sumAVX2(x []float32) float32

//go:noescape
func dotAVX2(x, y []float32) float32

//go:noescape
func maxAVX2(x []float32) float32

//go:noescape
func scaleAVX2(a float32, x []float32)

//go:noescape
func addAVX2(dst, a, b []float32)

//go:noescape
func expSubAVX2(x []float32, m float32) float32

//go:noescape
func softmaxGradAVX2(ds, p, dp []float32, dot, scale float32)

//go:noescape
func geluFwdAVX2(out, x []float32)

//go:noescape
func geluBwdAVX2(dx, x, dout []float32)

//go:noescape
func geluFwdDerivAVX2(out, deriv, x []float32)

//go:noescape
func mulAVX2(dst, a, b []float32)

//go:noescape
func sumSqDevAVX2(x []float32, mu float32) float32

//go:noescape
func lnApplyAVX2(out, x, g, b []float32, mu, rs float32)

//go:noescape
func lnGrad1AVX2(dout, x, g, dg, db []float32, mu, rs float32) (sd, sdx float32)

//go:noescape
func lnGrad2AVX2(dx, dout, x, g []float32, mu, rs, md, mdx float32)

//go:noescape
func adamwAVX2Body(p, g, m, v []float32, h *AdamWParams)

//go:noescape
func lnSumsAVX2(dout, x, g []float32, mu, rs float32) (sd, sdx float32)

//go:noescape
func attnSoftmaxAVX2(p []float32, t, r0, r1 int, scale float32)

//go:noescape
func attnSoftmaxGradAVX2(ds []float32, ldd int, p []float32, ldp, r0, rows int, scale float32)
