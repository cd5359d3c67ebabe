package scanner

import (
	"net/netip"
	"strings"
	"testing"
)

// rangeOf builds the expected range of two address literals.
func rangeOf(t *testing.T, first, last string) (ipRange, bool) {
	t.Helper()
	a, v6 := addrToU128(netip.MustParseAddr(first))
	b, _ := addrToU128(netip.MustParseAddr(last))
	return ipRange{a, b}, v6
}

func TestParseTargetForms(t *testing.T) {
	tests := []struct {
		in          string
		first, last string // address range, for specAddrs
		name        string // for specName
		port        uint16 // 0 = none given
	}{
		{in: "10.0.0.1", first: "10.0.0.1", last: "10.0.0.1"},
		{in: " 10.0.0.1 ", first: "10.0.0.1", last: "10.0.0.1"},
		{in: "0.0.0.0", first: "0.0.0.0", last: "0.0.0.0"},
		{in: "255.255.255.255", first: "255.255.255.255", last: "255.255.255.255"},
		{in: "2001:db8::1", first: "2001:db8::1", last: "2001:db8::1"},
		{in: "::ffff:10.1.2.3", first: "10.1.2.3", last: "10.1.2.3"},
		{in: "10.0.0.0/24", first: "10.0.0.0", last: "10.0.0.255"},
		{in: "10.0.0.77/24", first: "10.0.0.0", last: "10.0.0.255"},
		{in: "10.0.0.0/8", first: "10.0.0.0", last: "10.255.255.255"},
		{in: "0.0.0.0/0", first: "0.0.0.0", last: "255.255.255.255"},
		{in: "10.0.0.9/32", first: "10.0.0.9", last: "10.0.0.9"},
		{in: "2001:db8::/120", first: "2001:db8::", last: "2001:db8::ff"},
		{in: "2001:db8::/96", first: "2001:db8::", last: "2001:db8::ffff:ffff"},
		{in: "2001:db8::1/128", first: "2001:db8::1", last: "2001:db8::1"},
		{in: "::ffff:10.0.0.0/120", first: "10.0.0.0", last: "10.0.0.255"},
		{in: "10.0.0.1-10.0.0.9", first: "10.0.0.1", last: "10.0.0.9"},
		{in: "10.0.0.250-10.0.1.5", first: "10.0.0.250", last: "10.0.1.5"},
		{in: "10.0.0.1-9", first: "10.0.0.1", last: "10.0.0.9"},
		{in: "10.0.0.5-5", first: "10.0.0.5", last: "10.0.0.5"},
		{in: "10.0.0.0-255", first: "10.0.0.0", last: "10.0.0.255"},
		{in: "2001:db8::1-2001:db8::ff", first: "2001:db8::1", last: "2001:db8::ff"},
		{in: "2001:db8::-2001:db8::ffff:ffff", first: "2001:db8::", last: "2001:db8::ffff:ffff"},
		{in: "1.2.3.4:139", first: "1.2.3.4", last: "1.2.3.4", port: 139},
		{in: "1.2.3.4:0445", first: "1.2.3.4", last: "1.2.3.4", port: 445},
		{in: "1.2.3.4:65535", first: "1.2.3.4", last: "1.2.3.4", port: 65535},
		{in: "[2001:db8::1]:139", first: "2001:db8::1", last: "2001:db8::1", port: 139},
		{in: "[2001:db8::1]", first: "2001:db8::1", last: "2001:db8::1"},
		{in: "[2001:db8::/120]:139", first: "2001:db8::", last: "2001:db8::ff", port: 139},
		{in: "10.0.0.0/24:139", first: "10.0.0.0", last: "10.0.0.255", port: 139},
		{in: "10.0.0.1-9:139", first: "10.0.0.1", last: "10.0.0.9", port: 139},
		{in: "localhost", name: "localhost"},
		{in: "fileserver.example.com", name: "fileserver.example.com"},
		{in: "FileServer.Example.COM.", name: "FileServer.Example.COM."},
		{in: "host-1", name: "host-1"},
		{in: "_ldap._tcp.example.com", name: "_ldap._tcp.example.com"},
		{in: "10.0.0.1.example.com", name: "10.0.0.1.example.com"},
		{in: "3com", name: "3com"},
		{in: "host:139", name: "host", port: 139},
		{in: "fs.example.com:445", name: "fs.example.com", port: 445},
	}
	for _, tc := range tests {
		sp, err := parseTarget(tc.in)
		if err != nil {
			t.Errorf("parseTarget(%q): %v", tc.in, err)
			continue
		}
		if tc.name != "" {
			if sp.kind != specName || sp.name != tc.name {
				t.Errorf("parseTarget(%q) = kind %d name %q, want name %q", tc.in, sp.kind, sp.name, tc.name)
			}
		} else {
			want, v6 := rangeOf(t, tc.first, tc.last)
			if sp.kind != specAddrs || sp.r != want || sp.v6 != v6 {
				t.Errorf("parseTarget(%q) = %+v, want range %s-%s (v6 %v)", tc.in, sp, tc.first, tc.last, v6)
			}
		}
		if sp.hasPort != (tc.port != 0) || sp.port != tc.port {
			t.Errorf("parseTarget(%q) port = %d (given %v), want %d", tc.in, sp.port, sp.hasPort, tc.port)
		}
	}
}

func TestParseTargetErrors(t *testing.T) {
	const forms = `not an IP address, CIDR (10.0.0.0/24), range (10.0.0.1-10.0.0.9) or hostname`
	tests := []struct{ in, want string }{
		{"", `invalid target "": empty`},
		{"   ", `invalid target "": empty`},
		{"10.0.0.300", `invalid target "10.0.0.300": ` + forms},
		{"10.0.0", `invalid target "10.0.0": ` + forms},
		{"1.2.3.4.5", `invalid target "1.2.3.4.5": ` + forms},
		{"010.0.0.1", `invalid target "010.0.0.1": ` + forms},
		{"300", `invalid target "300": ` + forms},
		{"10.0.0.300-5", `invalid target "10.0.0.300-5": ` + forms},
		{":445", `invalid target ":445": ` + forms},
		{"1:2:3", `invalid target "1:2:3": ` + forms},
		{"host:1:2", `invalid target "host:1:2": ` + forms},
		{"2001:db8::g", `invalid target "2001:db8::g": ` + forms},
		{"h:99999", `invalid port in "h:99999": must be 1-65535`},
		{"h:0", `invalid port in "h:0": must be 1-65535`},
		{"h:", `invalid port in "h:": must be 1-65535`},
		{"h:-1", `invalid port in "h:-1": must be 1-65535`},
		{"h:+1", `invalid port in "h:+1": must be 1-65535`},
		{"h:445x", `invalid port in "h:445x": must be 1-65535`},
		{"1.2.3.4:100000", `invalid port in "1.2.3.4:100000": must be 1-65535`},
		{"[2001:db8::1]:0", `invalid port in "[2001:db8::1]:0": must be 1-65535`},
		{"[2001:db8::1", `invalid target "[2001:db8::1": missing ']'`},
		{"[2001:db8::1]445", `invalid target "[2001:db8::1]445": unexpected "445" after ']' (use [2001:db8::1]:445)`},
		{"[fileserver]:445", `invalid target "[fileserver]:445": brackets are only for IPv6 addresses ([2001:db8::1]:445)`},
		{"2001:db8::/64", `invalid target "2001:db8::/64": IPv6 prefixes wider than /96 are not supported (more than 2^32 addresses); use /96 or narrower`},
		{"::/0", `invalid target "::/0": IPv6 prefixes wider than /96 are not supported (more than 2^32 addresses); use /96 or narrower`},
		{"10.0.0.0/33", `invalid target "10.0.0.0/33": prefix length must be 0-32`},
		{"10.0.0.0/", `invalid target "10.0.0.0/": prefix length must be 0-32`},
		{"10.0.0.0/-1", `invalid target "10.0.0.0/-1": prefix length must be 0-32`},
		{"10.0.0.0/+8", `invalid target "10.0.0.0/+8": prefix length must be 0-32`},
		{"10.0.0.0/24/8", `invalid target "10.0.0.0/24/8": prefix length must be 0-32`},
		{"2001:db8::/129", `invalid target "2001:db8::/129": prefix length must be 0-128`},
		{"10.0.0.300/24", `invalid target "10.0.0.300/24": "10.0.0.300" is not an IP address (CIDR form: 10.0.0.0/24)`},
		{"fe80::1%eth0", `invalid target "fe80::1%eth0": IPv6 zones (%eth0) are not supported`},
		{"fe80::%eth0/120", `invalid target "fe80::%eth0/120": IPv6 zones (%eth0) are not supported`},
		{"10.0.0.9-10.0.0.1", `invalid target "10.0.0.9-10.0.0.1": range end is before its start`},
		{"10.0.0.9-1", `invalid target "10.0.0.9-1": range end is before its start`},
		{"10.0.0.1-256", `invalid target "10.0.0.1-256": the last octet after '-' must be 0-255 (10.0.0.1-9 or 10.0.0.1-10.0.0.9)`},
		{"10.0.0.1-x", `invalid target "10.0.0.1-x": the last octet after '-' must be 0-255 (10.0.0.1-9 or 10.0.0.1-10.0.0.9)`},
		{"10.0.0.1-", `invalid target "10.0.0.1-": range end "" is not an IP address (use 10.0.0.1-10.0.0.9 or 10.0.0.1-9)`},
		{"10.0.0.1-10.0.0.300", `invalid target "10.0.0.1-10.0.0.300": range end "10.0.0.300" is not an IP address (use 10.0.0.1-10.0.0.9 or 10.0.0.1-9)`},
		{"10.0.0.1-2001:db8::1", `invalid target "10.0.0.1-2001:db8::1": range start and end must both be IPv4 or both IPv6`},
		{"2001:db8::1-9", `invalid target "2001:db8::1-9": range end "9" is not an IP address (use 10.0.0.1-10.0.0.9 or 10.0.0.1-9)`},
		{"2001:db8::-2001:db9::", `invalid target "2001:db8::-2001:db9::": IPv6 ranges of more than 2^32 addresses are not supported; narrow it`},
		{"::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", `invalid target "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff": IPv6 ranges of more than 2^32 addresses are not supported; narrow it`},
		{"http://x", `invalid target "http://x": looks like a URL; give only the host name or address`},
		{"smb://fs/share", `invalid target "smb://fs/share": looks like a URL; give only the host name or address`},
		{"a b", `invalid target "a b": not a valid hostname: character ' ' is not allowed (letters, digits, '-', '_' and '.')`},
		{"-x", `invalid target "-x": not a valid hostname: labels must not start or end with '-'`},
		{"x-", `invalid target "x-": not a valid hostname: labels must not start or end with '-'`},
		{"foo..bar", `invalid target "foo..bar": not a valid hostname: empty label (".." or a leading '.')`},
		{".foo", `invalid target ".foo": not a valid hostname: empty label (".." or a leading '.')`},
		{"foo/bar", `invalid target "foo/bar": "foo" is not an IP address (CIDR form: 10.0.0.0/24)`},
		{"host!", `invalid target "host!": not a valid hostname: character '!' is not allowed (letters, digits, '-', '_' and '.')`},
		{"héllo", `invalid target "héllo": not a valid hostname: non-ASCII characters are not allowed (write internationalised names in their xn-- form)`},
		{"example.123", `invalid target "example.123": not a valid hostname: the last label is all digits, so it is neither an address nor a name`},
		{strings.Repeat("a", 64) + ".com", `invalid target "` + strings.Repeat("a", 64) + `.com": not a valid hostname: label longer than 63 characters`},
		{strings.Repeat("abcdefg.", 32) + "com", `invalid target "` + strings.Repeat("abcdefg.", 9) + `abcde...": not a valid hostname: longer than 253 characters`},
	}
	for _, tc := range tests {
		_, err := parseTarget(tc.in)
		if err == nil {
			t.Errorf("parseTarget(%q) succeeded, want error %q", tc.in, tc.want)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("parseTarget(%q) error\n got: %s\nwant: %s", tc.in, err, tc.want)
		}
	}
}

func TestParseExclusion(t *testing.T) {
	ok := []struct{ in, first, last string }{
		{"10.0.0.5", "10.0.0.5", "10.0.0.5"},
		{"10.0.0.0/25", "10.0.0.0", "10.0.0.127"},
		{"10.0.0.1-9", "10.0.0.1", "10.0.0.9"},
		// Exclusions may be as wide as wanted: they cost one range whatever their size.
		{"2001:db8::/32", "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"},
		{"::/0", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
		{"2001:db8::-2001:db9::", "2001:db8::", "2001:db9::"},
	}
	for _, tc := range ok {
		sp, err := parseExclusion(tc.in)
		want, v6 := rangeOf(t, tc.first, tc.last)
		if err != nil || sp.r != want || sp.v6 != v6 {
			t.Errorf("parseExclusion(%q) = %+v, %v; want %s-%s", tc.in, sp, err, tc.first, tc.last)
		}
	}
	bad := []struct{ in, want string }{
		{"fileserver", `invalid exclusion "fileserver": exclusions must be IP addresses, CIDRs (10.0.0.0/24) or ranges (10.0.0.1-10.0.0.9), not host names`},
		{"10.0.0.1:445", `invalid exclusion "10.0.0.1:445": exclusions apply to all ports; remove ":445"`},
		{"[2001:db8::1]:445", `invalid exclusion "[2001:db8::1]:445": exclusions apply to all ports; remove ":445"`},
		{"10.0.0.300", `invalid exclusion "10.0.0.300": not an IP address, CIDR (10.0.0.0/24) or range (10.0.0.1-10.0.0.9)`},
		{"10.0.0.0/40", `invalid exclusion "10.0.0.0/40": prefix length must be 0-32`},
		{"", `invalid exclusion "": empty`},
	}
	for _, tc := range bad {
		_, err := parseExclusion(tc.in)
		if err == nil || err.Error() != tc.want {
			t.Errorf("parseExclusion(%q) error\n got: %v\nwant: %s", tc.in, err, tc.want)
		}
	}
}

func TestTargetString(t *testing.T) {
	tests := []struct {
		t    Target
		want string
	}{
		{Target{Addr: netip.MustParseAddr("10.0.0.1"), Port: 445}, "10.0.0.1:445"},
		{Target{Addr: netip.MustParseAddr("2001:db8::1"), Port: 139}, "[2001:db8::1]:139"},
		{Target{Addr: netip.MustParseAddr("10.0.0.1"), Port: 445, Host: "fs"}, "fs:445"},
		{Target{Port: 445, Host: "gone.example"}, "gone.example:445"},
		{Target{Port: 445}, "invalid:445"},
	}
	for _, tc := range tests {
		if got := tc.t.String(); got != tc.want {
			t.Errorf("%+v.String() = %q, want %q", tc.t, got, tc.want)
		}
	}
	if got := (Target{Addr: netip.MustParseAddr("10.0.0.1"), Port: 445}).AddrPort().String(); got != "10.0.0.1:445" {
		t.Errorf("AddrPort() = %s", got)
	}
}
