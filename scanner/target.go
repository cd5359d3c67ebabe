package scanner

import (
	"net"
	"net/netip"
	"strconv"
)

// Target is one probe target: an address and TCP port, plus the host name when the target was
// given as a name.
type Target struct {
	Addr netip.Addr // the address to connect to; invalid (zero) when Err is set
	Port uint16
	Host string // the name as given, "" for literal IPs
	Err  error  // set when Host could not be resolved; the probe emits an error record for it
	// Pos is the target's position in the run's dispatch order (see Shard.Position and
	// Tracker), set by Run; checkpoints record positions, not addresses.
	Pos uint64
}

// AddrPort returns the address and port to dial.
func (t Target) AddrPort() netip.AddrPort { return netip.AddrPortFrom(t.Addr, t.Port) }

// String returns "host:port" for named targets and "ip:port" or "[ipv6]:port" otherwise.
func (t Target) String() string {
	h := t.Host
	if h == "" {
		if !t.Addr.IsValid() {
			h = "invalid"
		} else {
			h = t.Addr.String()
		}
	}
	return net.JoinHostPort(h, strconv.Itoa(int(t.Port)))
}
