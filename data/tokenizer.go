package data

import "fmt"

// Tokenizer turns bytes into tokens and back.
type Tokenizer interface {
	Vocab() int
	Encode(text []byte) []int32
	Decode(tokens []int32) ([]byte, error)
}

// Bytes is the byte-level tokenizer: token i is byte i, vocabulary 256.
type Bytes struct{}

// Vocab is 256.
func (Bytes) Vocab() int { return 256 }

// Encode returns one token per byte.
func (Bytes) Encode(text []byte) []int32 {
	out := make([]int32, len(text))
	for i, b := range text {
		out[i] = int32(b)
	}
	return out
}

// EncodeString returns one token per byte of s.
func (Bytes) EncodeString(s string) []int32 {
	out := make([]int32, len(s))
	for i := 0; i < len(s); i++ {
		out[i] = int32(s[i])
	}
	return out
}

// Decode returns the bytes of tokens, or an error naming the first token
// outside 0..255.
func (Bytes) Decode(tokens []int32) ([]byte, error) {
	out := make([]byte, len(tokens))
	for i, t := range tokens {
		if t < 0 || t > 255 {
			return nil, fmt.Errorf("data: token %d at position %d is not a byte", t, i)
		}
		out[i] = byte(t)
	}
	return out, nil
}
