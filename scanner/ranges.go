package scanner

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
	"slices"
)

// u128 is an unsigned 128-bit integer. IPv4 addresses use only the low 32 bits; IPv6 addresses
// are the big-endian value of their 16 bytes.
type u128 struct{ hi, lo uint64 }

func (a u128) cmp(b u128) int {
	switch {
	case a.hi < b.hi:
		return -1
	case a.hi > b.hi:
		return 1
	case a.lo < b.lo:
		return -1
	case a.lo > b.lo:
		return 1
	}
	return 0
}

// add64 returns a+n modulo 2^128.
func (a u128) add64(n uint64) u128 {
	lo, c := bits.Add64(a.lo, n, 0)
	return u128{a.hi + c, lo}
}

// sub returns a-b modulo 2^128.
func (a u128) sub(b u128) u128 {
	lo, borrow := bits.Sub64(a.lo, b.lo, 0)
	return u128{a.hi - b.hi - borrow, lo}
}

var maxU128 = u128{^uint64(0), ^uint64(0)}

// addrToU128 converts a (non-zoned, unmapped) address to its integer value and family.
func addrToU128(a netip.Addr) (v u128, v6 bool) {
	if a.Is4() {
		b := a.As4()
		return u128{0, uint64(binary.BigEndian.Uint32(b[:]))}, false
	}
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}, true
}

// u128ToAddr is the inverse of addrToU128.
func u128ToAddr(v u128, v6 bool) netip.Addr {
	if !v6 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(v.lo))
		return netip.AddrFrom4(b)
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], v.hi)
	binary.BigEndian.PutUint64(b[8:], v.lo)
	return netip.AddrFrom16(b)
}

// familyMax is the largest address value of a family.
func familyMax(v6 bool) u128 {
	if v6 {
		return maxU128
	}
	return u128{0, 1<<32 - 1}
}

// ipRange is an inclusive range [first, last] of addresses of one family (the family is kept by
// whoever holds the range).
type ipRange struct{ first, last u128 }

// size returns last-first+1, and false when it does not fit in a uint64.
func (r ipRange) size() (uint64, bool) {
	d := r.last.sub(r.first)
	if d.hi != 0 || d.lo == ^uint64(0) {
		return 0, false
	}
	return d.lo + 1, true
}

// prefixRange returns the range covered by a masked prefix.
func prefixRange(p netip.Prefix) ipRange {
	first, v6 := addrToU128(p.Addr())
	hostBits := 32 - p.Bits()
	if v6 {
		hostBits = 128 - p.Bits()
	}
	var span u128 // 2^hostBits - 1
	switch {
	case hostBits >= 128:
		span = maxU128
	case hostBits >= 64:
		span = u128{1<<(hostBits-64) - 1, ^uint64(0)}
	default:
		span = u128{0, 1<<hostBits - 1}
	}
	return ipRange{first, u128{first.hi | span.hi, first.lo | span.lo}}
}

// mergeRanges sorts rs by start and merges overlapping and adjacent ranges in place, returning
// the shortened slice.
func mergeRanges(rs []ipRange) []ipRange {
	if len(rs) < 2 {
		return rs
	}
	slices.SortFunc(rs, func(a, b ipRange) int { return a.first.cmp(b.first) })
	out := rs[:1]
	for _, r := range rs[1:] {
		cur := &out[len(out)-1]
		// Adjacent (cur.last+1 == r.first) or overlapping ranges merge; cur.last == max
		// swallows everything after it.
		if cur.last == maxU128 || r.first.cmp(cur.last.add64(1)) <= 0 {
			if r.last.cmp(cur.last) > 0 {
				cur.last = r.last
			}
			continue
		}
		out = append(out, r)
	}
	return out
}

// subtractRanges returns a minus b; both must be sorted and merged (mergeRanges). The result
// is appended to dst.
func subtractRanges(dst, a, b []ipRange) []ipRange {
	j := 0
	for _, r := range a {
		first := r.first
		// Skip exclusions that end before this range starts.
		for j < len(b) && b[j].last.cmp(first) < 0 {
			j++
		}
		k := j
		done := false
		for k < len(b) && b[k].first.cmp(r.last) <= 0 {
			x := b[k]
			if x.first.cmp(first) > 0 {
				dst = append(dst, ipRange{first, x.first.sub(u128{0, 1})})
			}
			if x.last.cmp(r.last) >= 0 {
				done = true
				break
			}
			first = x.last.add64(1)
			k++
		}
		if !done {
			dst = append(dst, ipRange{first, r.last})
		}
	}
	return dst
}
