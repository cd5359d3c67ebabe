package scanner

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// maxV6Span is the largest IPv6 target block accepted: a /96, 2^32 addresses.
const maxV6Span = 1 << 32

// specKind says what a parsed specification names.
type specKind uint8

const (
	specAddrs specKind = iota + 1 // a range of addresses (one address, a CIDR or a range)
	specName                      // a host name to resolve
)

// spec is one parsed target or exclusion specification.
type spec struct {
	kind    specKind
	r       ipRange // specAddrs
	v6      bool    // specAddrs: the family of r
	name    string  // specName: the name as given
	port    uint16  // explicit port, when hasPort
	hasPort bool
}

// quote renders user input for an error message, shortened so that a megabyte of garbage on
// one line does not become a megabyte error.
func quote(s string) string {
	const maxLen = 80
	if len(s) > maxLen {
		s = s[:maxLen-3] + "..."
	}
	return strconv.Quote(s)
}

const formsHelp = "not an IP address, CIDR (10.0.0.0/24), range (10.0.0.1-10.0.0.9) or hostname"

// parseTarget parses one target specification (see TargetBuilder.Add for the forms).
func parseTarget(s string) (spec, error) {
	return parseSpec(s, "target", true)
}

// parseExclusion parses one exclusion: an address, CIDR or range, without port or name.
func parseExclusion(s string) (spec, error) {
	return parseSpec(s, "exclusion", false)
}

func parseSpec(s, what string, target bool) (spec, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return spec{}, fmt.Errorf("invalid %s %q: empty", what, s)
	}
	if strings.Contains(s, "://") {
		return spec{}, fmt.Errorf("invalid %s %s: looks like a URL; give only the host name or address", what, quote(s))
	}
	hostPart, portPart, hasPort, err := splitPort(s, what)
	if err != nil {
		return spec{}, err
	}
	var sp spec
	if hasPort {
		if !target {
			return spec{}, fmt.Errorf("invalid %s %s: exclusions apply to all ports; remove %s", what, quote(s), quote(":"+portPart))
		}
		p, ok := parsePort(portPart)
		if !ok {
			return spec{}, fmt.Errorf("invalid port in %s: must be 1-65535", quote(s))
		}
		sp.port, sp.hasPort = p, true
	}
	bracketed := strings.HasPrefix(s, "[")
	sp.kind = specAddrs
	switch {
	case strings.Contains(hostPart, "/"):
		sp.r, sp.v6, err = parseCIDR(hostPart, what, s, target)
	case isRange(hostPart):
		sp.r, sp.v6, err = parseRange(hostPart, what, s, target)
	default:
		err = parseHostOrAddr(&sp, hostPart, s, what, target, bracketed)
	}
	if err != nil {
		return spec{}, err
	}
	return sp, nil
}

// parseHostOrAddr reads a single address, or (targets only) a host name, into sp; s is the
// whole text, for errors.
func parseHostOrAddr(sp *spec, hostPart, s, what string, target, bracketed bool) error {
	if a, err := netip.ParseAddr(hostPart); err == nil {
		if a.Zone() != "" {
			return fmt.Errorf("invalid %s %s: IPv6 zones (%%%s) are not supported", what, quote(s), a.Zone())
		}
		v, v6 := addrToU128(a.Unmap())
		sp.r, sp.v6 = ipRange{v, v}, v6
		return nil
	}
	if bracketed {
		return fmt.Errorf("invalid %s %s: brackets are only for IPv6 addresses ([2001:db8::1]:445)", what, quote(s))
	}
	if looksNumeric(hostPart) || strings.ContainsRune(hostPart, ':') {
		if !target {
			return fmt.Errorf("invalid %s %s: not an IP address, CIDR (10.0.0.0/24) or range (10.0.0.1-10.0.0.9)", what, quote(s))
		}
		return fmt.Errorf("invalid %s %s: %s", what, quote(s), formsHelp)
	}
	if !target {
		return fmt.Errorf("invalid %s %s: exclusions must be IP addresses, CIDRs (10.0.0.0/24) or ranges (10.0.0.1-10.0.0.9), not host names", what, quote(s))
	}
	if reason := checkHostname(hostPart); reason != "" {
		return fmt.Errorf("invalid %s %s: not a valid hostname: %s", what, quote(s), reason)
	}
	sp.kind, sp.name = specName, hostPart
	return nil
}

// splitPort splits "host:port", "[v6]:port" and "[v6]" forms. Text with two or more colons and
// no brackets is an IPv6 form without a port.
func splitPort(s, what string) (host, port string, hasPort bool, err error) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", false, fmt.Errorf("invalid %s %s: missing ']'", what, quote(s))
		}
		host, rest := s[1:end], s[end+1:]
		switch {
		case rest == "":
			return host, "", false, nil
		case rest[0] == ':':
			return host, rest[1:], true, nil
		}
		return "", "", false, fmt.Errorf("invalid %s %s: unexpected %s after ']' (use [2001:db8::1]:445)", what, quote(s), quote(rest))
	}
	switch strings.Count(s, ":") {
	case 0:
		return s, "", false, nil
	case 1:
		i := strings.IndexByte(s, ':')
		return s[:i], s[i+1:], true, nil
	}
	return s, "", false, nil
}

// parsePort accepts 1-65535 written in decimal digits only.
func parsePort(s string) (uint16, bool) {
	if s == "" || len(s) > 5 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if n < 1 || n > 65535 {
		return 0, false
	}
	return uint16(n), true
}

// isRange reports whether h is a range: the text before the first '-' is an IP address.
// (Neither IPv4 nor IPv6 addresses contain '-'; host names whose first label ends at a '-'
// are not addresses, so "host-1" is not a range.)
func isRange(h string) bool {
	i := strings.IndexByte(h, '-')
	if i <= 0 {
		return false
	}
	_, err := netip.ParseAddr(h[:i])
	return err == nil
}

func parseCIDR(h, what, orig string, target bool) (ipRange, bool, error) {
	i := strings.IndexByte(h, '/')
	a, err := netip.ParseAddr(h[:i])
	if err != nil {
		return ipRange{}, false, fmt.Errorf("invalid %s %s: %s is not an IP address (CIDR form: 10.0.0.0/24)", what, quote(orig), quote(h[:i]))
	}
	if a.Zone() != "" {
		return ipRange{}, false, fmt.Errorf("invalid %s %s: IPv6 zones (%%%s) are not supported", what, quote(orig), a.Zone())
	}
	maxBits := a.BitLen()
	bitsText := h[i+1:]
	bits, err := strconv.Atoi(bitsText)
	if err != nil || bitsText == "" || bitsText[0] < '0' || bitsText[0] > '9' || bits > maxBits {
		return ipRange{}, false, fmt.Errorf("invalid %s %s: prefix length must be 0-%d", what, quote(orig), maxBits)
	}
	if a.Is4In6() && bits >= 96 {
		a, bits = a.Unmap(), bits-96
	}
	if target && a.Is6() && bits < 96 {
		return ipRange{}, false, fmt.Errorf("invalid %s %s: IPv6 prefixes wider than /96 are not supported (more than 2^32 addresses); use /96 or narrower", what, quote(orig))
	}
	p := netip.PrefixFrom(a, bits).Masked() // 10.0.0.5/24 means 10.0.0.0/24, as in nmap
	return prefixRange(p), a.Is6(), nil
}

func parseRange(h, what, orig string, target bool) (ipRange, bool, error) {
	i := strings.IndexByte(h, '-')
	start, _ := netip.ParseAddr(h[:i]) // isRange checked it
	endText := h[i+1:]
	if start.Zone() != "" {
		return ipRange{}, false, fmt.Errorf("invalid %s %s: IPv6 zones (%%%s) are not supported", what, quote(orig), start.Zone())
	}
	start = start.Unmap()
	var end netip.Addr
	if start.Is4() && endText != "" && !strings.ContainsAny(endText, ".:") {
		// Last-octet shorthand: 10.0.0.1-9.
		n, err := strconv.Atoi(endText)
		if err != nil || endText[0] < '0' || endText[0] > '9' || n > 255 {
			return ipRange{}, false, fmt.Errorf("invalid %s %s: the last octet after '-' must be 0-255 (10.0.0.1-9 or 10.0.0.1-10.0.0.9)", what, quote(orig))
		}
		b := start.As4()
		b[3] = byte(n)
		end = netip.AddrFrom4(b)
	} else {
		var err error
		end, err = netip.ParseAddr(endText)
		if err != nil || end.Zone() != "" {
			return ipRange{}, false, fmt.Errorf("invalid %s %s: range end %s is not an IP address (use 10.0.0.1-10.0.0.9 or 10.0.0.1-9)", what, quote(orig), quote(endText))
		}
		end = end.Unmap()
	}
	if start.Is4() != end.Is4() {
		return ipRange{}, false, fmt.Errorf("invalid %s %s: range start and end must both be IPv4 or both IPv6", what, quote(orig))
	}
	first, v6 := addrToU128(start)
	last, _ := addrToU128(end)
	if last.cmp(first) < 0 {
		return ipRange{}, false, fmt.Errorf("invalid %s %s: range end is before its start", what, quote(orig))
	}
	r := ipRange{first, last}
	if n, ok := r.size(); target && v6 && (!ok || n > maxV6Span) {
		return ipRange{}, false, fmt.Errorf("invalid %s %s: IPv6 ranges of more than 2^32 addresses are not supported; narrow it", what, quote(orig))
	}
	return r, v6, nil
}

// looksNumeric reports whether h is made only of digits, dots, hyphens and colons: a mistyped
// address or range rather than a host name (no real host name looks like that).
func looksNumeric(h string) bool {
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':') {
			return false
		}
	}
	return true
}

// CheckHostname is the check the scan command applies to a target that is not an address: it
// returns "" for a valid DNS name, or why it is not one (for instance "0x7f.0.0.1" or
// "127.1", non-canonical IPv4 forms that resolvers would read as addresses).
func CheckHostname(h string) string { return checkHostname(h) }

// checkHostname validates a DNS name (RFC 1123 labels; '_' is tolerated because it occurs in
// internal names). It returns "" when valid, or the reason it is not.
func checkHostname(h string) string {
	if strings.ContainsRune(h, ':') {
		return "':' is not allowed (IPv6 with a port is written [2001:db8::1]:445)"
	}
	name := strings.TrimSuffix(h, ".")
	if name == "" {
		return "empty name"
	}
	if len(name) > 253 {
		return "longer than 253 characters"
	}
	allDigits := true
	for label := range strings.SplitSeq(name, ".") {
		if label == "" {
			return "empty label (\"..\" or a leading '.')"
		}
		if len(label) > 63 {
			return "label longer than 63 characters"
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "labels must not start or end with '-'"
		}
		allDigits = true
		for i := 0; i < len(label); i++ {
			c := label[i]
			switch {
			case c >= '0' && c <= '9':
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-', c == '_':
				allDigits = false
			case c >= 0x80:
				return "non-ASCII characters are not allowed (write internationalised names in their xn-- form)"
			default:
				return fmt.Sprintf("character %q is not allowed (letters, digits, '-', '_' and '.')", rune(c))
			}
		}
	}
	if allDigits {
		return "the last label is all digits, so it is neither an address nor a name"
	}
	return ""
}
