package compress_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/locosim/locosim/compress"
	"github.com/locosim/locosim/tensor"
)

// Three nodes compress their pseudo-gradients with SparseLoCo, a receiver
// decodes the bytes and averages them into one dense update.
func Example() {
	layout := tensor.Pack([]string{"w", "b"}, [][]int{{128, 256}, {256}})
	c, err := compress.New(compress.DefaultConfig(), layout)
	if err != nil {
		panic(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var wire [][]byte
	for node := range 3 {
		st := c.NewState() // kept across rounds: the error-feedback buffer
		delta := make([]float32, layout.Size())
		for i := range delta {
			delta[i] = float32(rng.NormFloat64())
		}
		p, err := c.Compress(st, delta, compress.DeriveSeed(7, node, 0))
		if err != nil {
			panic(err)
		}
		b, err := c.Encode(p)
		if err != nil {
			panic(err)
		}
		wire = append(wire, b)
	}

	var received []*compress.Payload
	for _, b := range wire {
		p, err := c.Decode(b)
		if err != nil {
			panic(err)
		}
		received = append(received, p)
	}
	update := make([]float32, layout.Size())
	if _, err := c.Aggregate(update, received); err != nil {
		panic(err)
	}
	nonzero := 0
	for _, v := range update {
		if v != 0 {
			nonzero++
		}
	}
	size, _ := c.Size(received[0])
	fmt.Printf("each node sends %d of %d values in %d bytes (%.0fx smaller than fp32)\n",
		size.Values, size.Params, size.EncodedBytes, size.Ratio())
	fmt.Printf("the update touches %d coordinates\n", nonzero)
	// Output:
	// each node sends 516 of 33024 values in 986 bytes (134x smaller than fp32)
	// the update touches 1525 coordinates
}
