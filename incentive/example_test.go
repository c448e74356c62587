package incentive_test

import (
	"fmt"

	"github.com/locosim/locosim/incentive"
)

// A validator scores three peers over two rounds: peer 1 improves the model
// most, peer 3 trained on data it was not assigned (it gains no more on its
// own sample than on random data), and in the second round peer 2 resubmits
// peer 1's payload.
func Example() {
	cfg := incentive.DefaultConfig()
	cfg.BurnRate = 0 // give all the weight to peers
	v := incentive.NewValidator(cfg)

	eval := func(gain, own float64) *incentive.Evaluation {
		return &incentive.Evaluation{
			LossOwnBefore: 4, LossOwnAfter: 4 * (1 - own),
			LossRandomBefore: 4, LossRandomAfter: 4 * (1 - gain),
		}
	}
	for round := uint64(0); round < 2; round++ {
		in := incentive.RoundInput{Round: round, Peers: []incentive.PeerInput{
			{UID: 1, Uploaded: true, UploadTimeS: 1, TopK: []uint32{1, 2, 3, 4}, Eval: eval(0.02, 0.025)},
			{UID: 2, Uploaded: true, UploadTimeS: 2, TopK: []uint32{5, 6, 7, 8}, Eval: eval(0.01, 0.015)},
			{UID: 3, Uploaded: true, UploadTimeS: 3, TopK: []uint32{9, 10, 11, 12}, Eval: eval(0.015, 0.01)},
		}}
		if round == 1 {
			in.Peers[1].TopK = []uint32{4, 3, 2, 1} // peer 2 copies peer 1
		}
		out := v.Round(in)
		for _, r := range out.Rows {
			fmt.Printf("round %d peer %d: score %.3f indicator %+.0f mu %5.2f final %.3f weight %.2f [%s]\n",
				r.Round, r.Peer, r.Score, r.Indicator, r.Mu, r.FinalScore, r.Weight, r.PenaltyNames)
		}
	}
	fmt.Println("seed of peer 1's data in round 0:", incentive.AssignedSeed(1, 0))
	// Output:
	// round 0 peer 1: score 0.020 indicator +1 mu 27.46 final 0.135 weight 1.00 []
	// round 0 peer 2: score 0.010 indicator +1 mu 21.93 final -0.128 weight 0.00 []
	// round 0 peer 3: score 0.015 indicator -1 mu 25.61 final 0.000 weight 0.00 []
	// round 1 peer 1: score 0.020 indicator +1 mu 29.55 final 0.515 weight 1.00 []
	// round 1 peer 2: score NaN indicator +NaN mu 25.00 final 0.000 weight 0.00 [copy_exclude]
	// round 1 peer 3: score 0.015 indicator -1 mu 23.56 final 0.000 weight 0.00 []
	// seed of peer 1's data in round 0: 1000003
}
