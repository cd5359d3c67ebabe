package scanner

import (
	"strconv"
	"testing"
)

// checkBijection verifies that p maps [0, n) onto [0, n) exactly once each.
func checkBijection(t *testing.T, p Permutation, n uint64) {
	t.Helper()
	seen := make([]bool, n)
	for i := range n {
		v := p.At(i)
		if v >= n {
			t.Fatalf("n=%d: At(%d) = %d out of range", n, i, v)
		}
		if seen[v] {
			t.Fatalf("n=%d: value %d produced twice", n, v)
		}
		seen[v] = true
	}
}

func TestPermutationBijectionExhaustive(t *testing.T) {
	for n := uint64(1); n <= 2000; n++ {
		checkBijection(t, NewPermutation(n, n*7919), n)
	}
	// A few larger sizes, still exhaustive, and several seeds.
	for _, n := range []uint64{65536, 65537, 100_003} {
		for seed := range uint64(3) {
			checkBijection(t, NewPermutation(n, seed), n)
		}
	}
}

// TestPermutationLargeSampled checks, for sizes too large to enumerate, that outputs stay in
// range and that a sample of distinct positions maps to distinct values.
func TestPermutationLargeSampled(t *testing.T) {
	for _, n := range []uint64{1 << 24, 1<<24 + 12345, 1 << 32, 3 << 40, 1<<63 + 5, ^uint64(0)} {
		p := NewPermutation(n, 42)
		seen := make(map[uint64]uint64, 20000)
		for k := range uint64(20000) {
			i := k * (n / 20000)
			v := p.At(i)
			if v >= n {
				t.Fatalf("n=%d: At(%d) = %d out of range", n, i, v)
			}
			if j, dup := seen[v]; dup {
				t.Fatalf("n=%d: At(%d) = At(%d) = %d", n, i, j, v)
			}
			seen[v] = i
		}
		// Positions near the end are valid too.
		for i := n - 100; i < n && i >= n-100; i++ {
			if v := p.At(i); v >= n {
				t.Fatalf("n=%d: At(%d) = %d out of range", n, i, v)
			}
		}
	}
}

func TestPermutationSpreads(t *testing.T) {
	const n = 256 // a /24
	for seed := range uint64(20) {
		p := NewPermutation(n, seed)
		sequential, identity := 0, 0
		for i := range uint64(n) {
			if i+1 < n && p.At(i+1) == p.At(i)+1 {
				sequential++
			}
			if p.At(i) == i {
				identity++
			}
		}
		// A random permutation has about one ascending neighbour pair and one fixed point.
		if sequential > 12 || identity > 12 {
			t.Errorf("seed %d: %d sequential steps, %d fixed points of %d", seed, sequential, identity, n)
		}
	}
	// Different seeds give different orders; the same seed gives the same order.
	a, b, c := NewPermutation(1000, 1), NewPermutation(1000, 2), NewPermutation(1000, 1)
	same, differ := true, false
	for i := range uint64(1000) {
		same = same && a.At(i) == c.At(i)
		differ = differ || a.At(i) != b.At(i)
	}
	if !same || !differ {
		t.Fatalf("same seed equal %v, different seeds differ %v", same, differ)
	}
}

func TestPermutationEdges(t *testing.T) {
	if got := NewPermutation(1, 9).At(0); got != 0 {
		t.Fatalf("n=1: %d", got)
	}
	if NewPermutation(0, 1).Len() != 0 {
		t.Fatal("n=0 has elements")
	}
	for _, n := range []uint64{0, 1, 10} {
		func() {
			defer func() {
				if recover() == nil {
					t.Fatalf("n=%d: At(n) did not panic", n)
				}
			}()
			NewPermutation(n, 1).At(n)
		}()
	}
	if n := testing.AllocsPerRun(100, func() { NewPermutation(1<<24, 5).At(12345) }); n != 0 {
		t.Fatalf("At allocates %v", n)
	}
}

func TestShardPartition(t *testing.T) {
	for n := uint64(0); n <= 64; n++ {
		for count := 1; count <= 9; count++ {
			owner := make([]int, n)
			for i := range owner {
				owner[i] = -1
			}
			for idx := range count {
				s := Shard{Index: idx, Count: count}
				if err := s.Validate(); err != nil {
					t.Fatal(err)
				}
				for j := range s.Len(n) {
					pos := s.Position(j)
					if pos >= n {
						t.Fatalf("n=%d shard %v: position %d out of range", n, s, pos)
					}
					if owner[pos] != -1 {
						t.Fatalf("n=%d: position %d in shards %d and %d of %d", n, pos, owner[pos], idx, count)
					}
					if pos%uint64(count) != uint64(idx) {
						t.Fatalf("n=%d shard %v: position %d", n, s, pos)
					}
					owner[pos] = idx
				}
			}
			for pos, o := range owner {
				if o == -1 {
					t.Fatalf("n=%d count %d: position %d in no shard", n, count, pos)
				}
			}
		}
		// The zero value covers everything in order.
		var z Shard
		if z.Len(n) != n || (n > 0 && z.Position(n-1) != n-1) {
			t.Fatalf("zero shard: Len %d", z.Len(n))
		}
	}
}

func TestShardValidate(t *testing.T) {
	for _, s := range []Shard{{0, 0}, {0, 1}, {2, 3}} {
		if err := s.Validate(); err != nil {
			t.Errorf("%+v: %v", s, err)
		}
	}
	for _, s := range []Shard{{1, 0}, {3, 3}, {-1, 2}, {0, -1}} {
		err := s.Validate()
		if err == nil {
			t.Errorf("%+v: valid", s)
			continue
		}
		if want := "invalid shard " + strconv.Itoa(s.Index) + "/" + strconv.Itoa(s.Count) + ": need 0 <= index < count"; err.Error() != want {
			t.Errorf("%+v: %q, want %q", s, err, want)
		}
	}
	if got := (Shard{2, 5}).String(); got != "2/5" {
		t.Errorf("String = %q", got)
	}
	if got := (Shard{}).String(); got != "0/1" {
		t.Errorf("zero String = %q", got)
	}
}

func BenchmarkPermutationAt(b *testing.B) {
	p := NewPermutation(1<<24+1, 7) // worst case: the domain is almost 4x N
	b.ReportAllocs()
	var sink uint64
	for i := uint64(0); b.Loop(); i++ {
		sink += p.At(i % p.Len())
	}
	_ = sink
}
