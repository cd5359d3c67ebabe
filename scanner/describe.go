package scanner

import (
	"fmt"
	"math/bits"
	"net/netip"
)

// Describe lists the set for a person, in the set's order: one entry per address range — an
// address, a CIDR when the range is exactly one, else FIRST-LAST — and one per named target,
// each with its port ("10.0.0.0/24 port 445 (256 addresses)"). After max entries (max > 0) a
// last entry counts the rest. `smbsweep config check` prints it for each job.
func (s *TargetSet) Describe(max int) []string {
	var out []string
	for i, g := range s.segs {
		if max > 0 && i == max {
			out = append(out, fmt.Sprintf("... and %d more", len(s.segs)-max))
			break
		}
		if g.host != "" {
			out = append(out, fmt.Sprintf("%s port %d (a name: resolved at each run)", g.host, g.port))
			continue
		}
		first := u128ToAddr(g.first, g.v6)
		switch {
		case g.size == 1:
			out = append(out, fmt.Sprintf("%s port %d", first, g.port))
		case g.size&(g.size-1) == 0 && g.first.lo&(g.size-1) == 0:
			p := netip.PrefixFrom(first, first.BitLen()-bits.TrailingZeros64(g.size))
			out = append(out, fmt.Sprintf("%s port %d (%d addresses)", p, g.port, g.size))
		default:
			last := u128ToAddr(g.first.add64(g.size-1), g.v6)
			out = append(out, fmt.Sprintf("%s-%s port %d (%d addresses)", first, last, g.port, g.size))
		}
	}
	return out
}
