package sim

import (
	"context"
	"fmt"
	"math"
	"runtime"

	"github.com/locosim/locosim/data"
	"github.com/locosim/locosim/model"
	"github.com/locosim/locosim/record"
)

// Single trains one replica with no network: the baseline the distributed
// strategies are compared with, and the measure of raw training speed.
// It is driven step by step (Step, Evaluate) or to the end (Run).
type Single struct {
	cfg    Config
	corpus data.Corpus
	m      *model.Model
	opt    *model.AdamW
	ws     *model.Workspace
	stream data.Stream
	batch  *data.Batch
	evals  []*data.Batch
	floor  float64

	step, total int
	lastLR      float64
	lossSum     float64
	lossN       int
}

// NewSingle builds the replica, its optimizer and its data stream (node 0 of 1).
func NewSingle(cfg Config) (*Single, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	corpus, err := data.Open(cfg.Data, cfg.Seed)
	if err != nil {
		return nil, err
	}
	if corpus.Vocab() > cfg.Model.Vocab {
		return nil, fmt.Errorf("corpus vocabulary %d exceeds model.vocab %d", corpus.Vocab(), cfg.Model.Vocab)
	}
	m, err := model.New(cfg.Model, cfg.Seed)
	if err != nil {
		return nil, err
	}
	total := cfg.Train.InnerSteps * cfg.Train.OuterRounds
	opt, err := model.NewAdamW(cfg.Train.schedule(total), m.Layout())
	if err != nil {
		return nil, err
	}
	workers := cfg.Train.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ws, err := model.NewWorkspace(cfg.Model, cfg.Train.BatchSize, workers)
	if err != nil {
		return nil, err
	}
	opt.SetWorkers(workers) // the update is elementwise: same bits for any count
	shape := data.Shape{Batch: cfg.Train.BatchSize, SeqLen: cfg.Model.SeqLen}
	stream, err := corpus.NodeStream(0, 1, shape)
	if err != nil {
		return nil, err
	}
	evals, err := corpus.EvalBatches(cfg.Train.EvalBatches, shape)
	if err != nil {
		return nil, err
	}
	floor, ok := corpus.Floor(cfg.Model.SeqLen)
	if !ok {
		floor = math.NaN()
	}
	return &Single{
		cfg: cfg, corpus: corpus, m: m, opt: opt, ws: ws, stream: stream,
		batch: data.NewBatch(shape), evals: evals, floor: floor, total: total,
	}, nil
}

// Model is the replica being trained.
func (s *Single) Model() *model.Model { return s.m }

// Corpus is the data the replica trains on.
func (s *Single) Corpus() data.Corpus { return s.corpus }

// Floor is the corpus's lowest achievable loss at the model's context, or NaN.
func (s *Single) Floor() float64 { return s.floor }

// Done reports whether every step has run.
func (s *Single) Done() bool { return s.step >= s.total }

// Steps returns the steps done and the steps planned.
func (s *Single) Steps() (done, total int) { return s.step, s.total }

// Step runs one forward, backward and AdamW step and returns its loss.
func (s *Single) Step() (float64, error) {
	if s.Done() {
		return 0, fmt.Errorf("sim: all %d steps done", s.total)
	}
	s.stream.Next(s.batch)
	loss, err := s.m.ForwardBackward(s.ws, s.batch.Inputs, s.batch.Targets)
	if err != nil {
		return 0, err
	}
	st, err := s.opt.Step(s.m.Params(), s.ws.Grads(), s.step)
	if err != nil {
		return 0, err
	}
	s.lastLR = st.LR
	s.step++
	s.lossSum += loss
	s.lossN++
	return loss, nil
}

// Evaluate returns the mean loss over the fixed held-out batches.
func (s *Single) Evaluate() (float64, error) {
	return evalLoss(s.m, s.ws, s.evals)
}

func evalLoss(m *model.Model, ws *model.Workspace, batches []*data.Batch) (float64, error) {
	var sum float64
	for _, b := range batches {
		l, err := m.Loss(ws, b.Inputs, b.Targets)
		if err != nil {
			return 0, err
		}
		sum += l
	}
	return sum / float64(len(batches)), nil
}

// Run trains to the end, evaluating before the first step and every
// train.eval_every rounds of train.inner_steps steps (and after the last).
// Each evaluation goes to sink; onEval, if not nil, sees it too (progress).
func (s *Single) Run(ctx context.Context, sink Sink, onEval func(record.Eval)) (record.Eval, error) {
	every := s.cfg.Train.EvalEvery * s.cfg.Train.InnerSteps
	tokensPerStep := int64(s.cfg.Train.BatchSize * s.cfg.Model.SeqLen)
	var last record.Eval
	emit := func() error {
		loss, err := s.Evaluate()
		if err != nil {
			return err
		}
		train := math.NaN()
		if s.lossN > 0 {
			train = s.lossSum / float64(s.lossN)
		}
		last = record.Eval{
			Round:      int64(s.step / s.cfg.Train.InnerSteps),
			Step:       int64(s.step),
			Tokens:     int64(s.step) * tokensPerStep,
			EvalLoss:   loss,
			ExcessLoss: record.ExcessOver(loss, s.floor),
			TrainLoss:  train,
			LR:         s.cfg.Train.schedule(s.total).LearningRate(s.step),
		}
		last.FillMissing(last.AddedColumns()) // one replica: no nodes of their own
		s.lossSum, s.lossN = 0, 0
		if err := sink.Eval(last); err != nil {
			return err
		}
		if onEval != nil {
			onEval(last)
		}
		return nil
	}
	if s.step == 0 {
		if err := emit(); err != nil {
			return last, err
		}
	}
	for !s.Done() {
		if err := ctx.Err(); err != nil {
			return last, err
		}
		if _, err := s.Step(); err != nil {
			return last, err
		}
		if s.step%every == 0 || s.Done() {
			if err := emit(); err != nil {
				return last, err
			}
		}
	}
	return last, nil
}
