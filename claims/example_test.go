package claims_test

import (
	"fmt"

	"github.com/locosim/locosim/claims"
)

// Final eval losses of two settings over three seeds: SparseLoCo with and
// without error feedback. Pairing by seed, then the verdict of "A is better
// than B" from the 95 % interval of the mean difference.
func Example() {
	withEF := map[uint64]float64{1: 2.30, 2: 2.28, 3: 2.31}
	withoutEF := map[uint64]float64{1: 4.02, 2: 3.95, 3: 4.05, 4: 3.99}
	seeds, d, dropped := claims.Pair(withEF, withoutEF)
	iv := claims.MeanInterval(d)
	fmt.Printf("seeds %v (dropped %v): A − B = %.3f ± %.3f\n", seeds, dropped, iv.Mean, iv.Half)
	fmt.Println(claims.Decide(claims.Better, 0, false, iv))
	fmt.Println(claims.Decide(claims.Better, 0, false, claims.MeanInterval(d[:1])))
	// Output:
	// seeds [1 2 3] (dropped [4]): A − B = -1.710 ± 0.090
	// reproduced
	// inconclusive
}
