package scanner

import (
	"fmt"
	"math/bits"
)

// feistelRounds is the number of Feistel rounds. Four rounds of a good mixing function already
// give a well-spread order; six leave margin for the small half-widths of tiny domains.
const feistelRounds = 6

// Permutation is a seeded bijection on [0, N) that needs no stored order: position i of the scan
// visits target At(i).
//
// It is a balanced Feistel network over the smallest even power of two 2^k ≥ N, with cycle
// walking to stay inside [0, N): values ≥ N are encrypted again until they fall inside, which is
// a bijection on [0, N) because it follows the cycles of a bijection on [0, 2^k). As 2^k < 4N,
// fewer than four steps are expected per At. Each round function is a 64-bit finaliser mix
// (splitmix64) of the right half xored with a round key derived from the seed.
//
// This is for spreading load across networks, not for cryptography: the order is predictable to
// anyone who knows the seed and is not meant to hide anything.
type Permutation struct {
	n    uint64
	half uint   // bits per Feistel half; the domain is 2^(2*half)
	mask uint64 // 2^half - 1
	keys [feistelRounds]uint64
}

// NewPermutation returns the permutation of [0, n) for seed. The same (n, seed) always gives
// the same order, which is what lets shards of one scan run on different machines.
func NewPermutation(n, seed uint64) Permutation {
	p := Permutation{n: n}
	if n <= 1 {
		return p
	}
	k := uint(bits.Len64(n - 1)) // 2^k >= n
	k += k & 1                   // balanced halves need an even bit count
	p.half = k / 2
	p.mask = 1<<p.half - 1
	s := seed
	for i := range p.keys {
		s += 0x9e3779b97f4a7c15
		p.keys[i] = mix64(s)
	}
	return p
}

// Len returns N.
func (p Permutation) Len() uint64 { return p.n }

// At returns the element at position i. It panics if i >= N.
func (p Permutation) At(i uint64) uint64 {
	if i >= p.n {
		panic(fmt.Sprintf("scanner: Permutation.At(%d) out of range [0, %d)", i, p.n))
	}
	if p.n == 1 {
		return 0
	}
	x := p.encrypt(i)
	for x >= p.n {
		x = p.encrypt(x)
	}
	return x
}

func (p Permutation) encrypt(x uint64) uint64 {
	l, r := x>>p.half, x&p.mask
	for _, k := range p.keys {
		l, r = r, l^(mix64(r^k)&p.mask)
	}
	return l<<p.half | r
}

// mix64 is the splitmix64 finaliser: a cheap bijective 64-bit mix with good avalanche.
func mix64(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// Shard selects one part of a scan split across several runs: the positions i of the permuted
// order with i % Count == Index. The zero value (and Count 1) selects everything. Every shard of
// one scan must use the same targets and the same seed.
type Shard struct {
	Index int // 0-based
	Count int
}

// Validate reports whether s is usable.
func (s Shard) Validate() error {
	if s.Count == 0 && s.Index == 0 {
		return nil
	}
	if s.Count < 1 || s.Index < 0 || s.Index >= s.Count {
		return fmt.Errorf("invalid shard %d/%d: need 0 <= index < count", s.Index, s.Count)
	}
	return nil
}

// Len returns how many of the positions [0, n) belong to s. s must be valid.
func (s Shard) Len(n uint64) uint64 {
	if s.Count <= 1 {
		return n
	}
	idx, cnt := uint64(s.Index), uint64(s.Count)
	if idx >= n {
		return 0
	}
	return (n-idx-1)/cnt + 1
}

// Position returns the j-th position (0 <= j < s.Len(n)) of the permuted order that belongs to s.
func (s Shard) Position(j uint64) uint64 {
	if s.Count <= 1 {
		return j
	}
	return uint64(s.Index) + j*uint64(s.Count)
}

// String formats s as "index/count".
func (s Shard) String() string {
	if s.Count <= 1 {
		return "0/1"
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}
