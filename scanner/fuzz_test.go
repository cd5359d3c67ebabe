package scanner

import (
	"context"
	"strings"
	"testing"
)

// FuzzParseTarget checks that no input makes the target and exclusion parsers (or the builder
// around them) panic, and that what they accept is consistent.
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{
		"10.0.0.1", "10.0.0.0/24", "10.0.0.1-9", "10.0.0.1-10.0.0.9", "2001:db8::/120",
		"[2001:db8::1]:445", "host:139", "fs.example.com", "10.0.0.300", "h:99999", "http://x",
		"a b", "-x", "foo..bar", "[::1", "::ffff:1.2.3.4/120", "fe80::1%eth0", "10.0.0.1-",
		"2001:db8::-2001:db8::ffff", "10.0.0.0/24:139", "0.0.0.0/0", "#", "a,b c\n10.0.0.1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := parseTarget(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "invalid ") {
				t.Fatalf("parseTarget(%q): error %q does not start with \"invalid \"", s, err)
			}
		} else {
			checkSpec(t, s, sp, true)
		}
		if xs, err := parseExclusion(s); err == nil {
			checkSpec(t, s, xs, false)
			if xs.kind != specAddrs || xs.hasPort {
				t.Fatalf("parseExclusion(%q) = %+v", s, xs)
			}
		} else if !strings.HasPrefix(err.Error(), "invalid ") {
			t.Fatalf("parseExclusion(%q): error %q", s, err)
		}

		// The same text as a file, through the builder, down to indexing.
		b := NewTargetBuilder(445)
		_, _ = b.AddReader(strings.NewReader(s), "fuzz", false)
		_, _ = b.ExcludeReader(strings.NewReader(s), "fuzz", false)
		set, err := b.Build(context.Background(), &fakeResolver{})
		if err != nil {
			return
		}
		if n := set.Len(); n > 0 {
			_ = set.At(0).String()
			_ = set.At(n - 1).String()
			_ = set.At(n / 2).String()
		}
	})
}

// checkSpec checks the invariants of an accepted specification, and that a single address
// formatted as a Target parses back to itself.
func checkSpec(t *testing.T, s string, sp spec, target bool) {
	t.Helper()
	switch sp.kind {
	case specAddrs:
		if sp.r.last.cmp(sp.r.first) < 0 {
			t.Fatalf("%q: range end before start: %+v", s, sp)
		}
		if !sp.v6 && sp.r.last.cmp(familyMax(false)) > 0 {
			t.Fatalf("%q: IPv4 range beyond 2^32: %+v", s, sp)
		}
		if n, ok := sp.r.size(); target && sp.v6 && (!ok || n > maxV6Span) {
			t.Fatalf("%q: IPv6 target range of %d addresses accepted", s, n)
		}
		if target && sp.r.first == sp.r.last {
			tg := Target{Addr: u128ToAddr(sp.r.first, sp.v6), Port: 445}
			if sp.hasPort {
				tg.Port = sp.port
			}
			back, err := parseTarget(tg.String())
			if err != nil || back.r != sp.r || back.v6 != sp.v6 || back.port != tg.Port {
				t.Fatalf("%q: %s parses back as %+v, %v", s, tg, back, err)
			}
		}
	case specName:
		if !target {
			t.Fatalf("%q: exclusion accepted a name", s)
		}
		if reason := checkHostname(sp.name); reason != "" || sp.name == "" {
			t.Fatalf("%q: accepted name %q: %s", s, sp.name, reason)
		}
	default:
		t.Fatalf("%q: accepted with kind %d", s, sp.kind)
	}
	if sp.hasPort && sp.port == 0 {
		t.Fatalf("%q: port 0 accepted", s)
	}
}
