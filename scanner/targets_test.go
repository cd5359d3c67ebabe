package scanner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/projectdiscovery/mapcidr"
)

// fakeResolver answers from a table; names missing from it fail like an NXDOMAIN.
type fakeResolver struct {
	addrs map[string][]string
	calls atomic.Int64

	mu        sync.Mutex
	inFlight  int
	maxFlight int
	delay     time.Duration
}

func (f *fakeResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	f.calls.Add(1)
	f.mu.Lock()
	f.inFlight++
	f.maxFlight = max(f.maxFlight, f.inFlight)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if network != "ip" {
		return nil, fmt.Errorf("unexpected network %q", network)
	}
	ss, ok := f.addrs[strings.ToLower(strings.TrimSuffix(host, "."))]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out, nil
}

// build adds targets and exclusions and builds the set, failing the test on any error.
func build(t *testing.T, targets, excludes []string, res Resolver) *TargetSet {
	t.Helper()
	b := NewTargetBuilder(445)
	for _, s := range targets {
		if err := b.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range excludes {
		if err := b.Exclude(s); err != nil {
			t.Fatal(err)
		}
	}
	if res == nil {
		res = &fakeResolver{}
	}
	set, err := b.Build(context.Background(), res)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// all lists every target of set as strings, in index order.
func all(set *TargetSet) []string {
	var out []string
	for i := range set.Len() {
		t := set.At(i)
		s := t.String()
		if t.Host != "" {
			s += "=" + t.Addr.String()
			if t.Err != nil {
				s = t.Host + ":err"
			}
		}
		out = append(out, s)
	}
	return out
}

// expand lists addr:port strings for an inclusive IPv4 range (test helper; small ranges only).
func expand(first, last string, port int) []string {
	a, b := netip.MustParseAddr(first), netip.MustParseAddr(last)
	var out []string
	for ; a.Compare(b) <= 0; a = a.Next() {
		out = append(out, netip.AddrPortFrom(a, uint16(port)).String())
	}
	return out
}

func TestBuildCoalesces(t *testing.T) {
	set := build(t, []string{"10.0.0.128/25", "10.0.0.5", "10.0.0.0/25", "10.0.0.1-9", "10.0.0.0/24", "10.0.0.255:445"}, nil, nil)
	if len(set.segs) != 1 || set.Len() != 256 {
		t.Fatalf("got %d segments, %d targets; want 1 segment of 256", len(set.segs), set.Len())
	}
	if got, want := all(set), expand("10.0.0.0", "10.0.0.255", 445); !slices.Equal(got, want) {
		t.Fatalf("targets = %v\nwant %v", got, want)
	}

	// Adjacent ranges merge; a gap keeps them apart.
	set = build(t, []string{"10.0.0.1-3", "10.0.0.4-6", "10.0.0.8"}, nil, nil)
	if len(set.segs) != 2 || set.Len() != 7 {
		t.Fatalf("got %d segments, %d targets; want 2 segments, 7 targets", len(set.segs), set.Len())
	}

	// The top of each address space merges without overflow.
	set = build(t, []string{"255.255.255.255", "255.255.255.0/24", "0.0.0.0/1", "128.0.0.0/1"}, nil, nil)
	if len(set.segs) != 1 || set.Len() != 1<<32 {
		t.Fatalf("got %d segments, %d targets; want 1 segment of 2^32", len(set.segs), set.Len())
	}
	set = build(t, []string{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff::/96", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:0/112"}, nil, nil)
	if len(set.segs) != 1 || set.Len() != 1<<32 {
		t.Fatalf("got %d segments, %d targets; want 1 segment of 2^32", len(set.segs), set.Len())
	}
	if got := set.At(set.Len() - 1).Addr.String(); got != "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" {
		t.Fatalf("last = %s", got)
	}
}

func TestBuildPortsAndFamilies(t *testing.T) {
	set := build(t, []string{
		"10.0.0.1", "10.0.0.1:445", // the same target twice
		"10.0.0.1:139", "10.0.0.2:139", // another port
		"[2001:db8::1]:139", "2001:db8::1", "2001:db8::2",
		"::ffff:10.0.0.2", // IPv4-mapped merges with IPv4
	}, nil, nil)
	want := []string{
		"10.0.0.1:139", "10.0.0.2:139", "[2001:db8::1]:139",
		"10.0.0.1:445", "10.0.0.2:445", "[2001:db8::1]:445", "[2001:db8::2]:445",
	}
	if got := all(set); !slices.Equal(got, want) {
		t.Fatalf("targets = %v\nwant %v", got, want)
	}
	// The default port applies to targets without one.
	b := NewTargetBuilder(139)
	if err := b.Add("10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	s2, _ := b.Build(context.Background(), &fakeResolver{})
	if got := all(s2); !slices.Equal(got, []string{"10.0.0.1:139"}) {
		t.Fatalf("default port 139: %v", got)
	}
	if got := NewTargetBuilder(0).defaultPort; got != 445 {
		t.Fatalf("NewTargetBuilder(0) default port %d, want 445", got)
	}
}

func TestBuildExclusions(t *testing.T) {
	set := build(t,
		[]string{"10.0.0.0/24", "10.0.0.0/24:139", "10.0.1.0/24", "2001:db8::/120"},
		[]string{"10.0.0.0/26", "10.0.0.100-10.0.0.110", "10.0.0.255", "10.0.0.250-10.0.1.255", "2001:db8::10-2001:db8::ff", "2001:db8::1"},
		nil)
	var want []string
	for _, port := range []int{139, 445} {
		want = append(want, expand("10.0.0.64", "10.0.0.99", port)...)
		want = append(want, expand("10.0.0.111", "10.0.0.249", port)...)
		if port == 445 {
			want = append(want, "[2001:db8::]:445")
			for i := 2; i < 16; i++ {
				want = append(want, fmt.Sprintf("[2001:db8::%x]:445", i))
			}
		}
	}
	if got := all(set); !slices.Equal(got, want) {
		t.Fatalf("targets = %v\nwant %v", got, want)
	}

	// Excluding everything leaves an empty set; a wide IPv6 exclusion is fine.
	set = build(t, []string{"10.0.0.0/8", "2001:db8::/96"}, []string{"0.0.0.0/0", "::/0"}, nil)
	if set.Len() != 0 || len(set.segs) != 0 {
		t.Fatalf("everything excluded: Len %d, %d segments", set.Len(), len(set.segs))
	}
}

// TestBuildMatchesNaive compares Build with a map-based model on random small inputs.
func TestBuildMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	randSpec := func() (string, netip.Addr, netip.Addr) {
		base := netip.AddrFrom4([4]byte{10, 0, byte(r.IntN(4)), byte(r.IntN(256))})
		switch r.IntN(3) {
		case 0:
			return base.String(), base, base
		case 1:
			bits := 24 + r.IntN(9)
			p := netip.PrefixFrom(base, bits).Masked()
			last := p.Addr()
			for range (1 << (32 - bits)) - 1 {
				last = last.Next()
			}
			return p.String(), p.Addr(), last
		default:
			end := base
			for range r.IntN(300) {
				if end.Next().Compare(netip.MustParseAddr("10.0.3.255")) > 0 {
					break
				}
				end = end.Next()
			}
			return base.String() + "-" + end.String(), base, end
		}
	}
	for iter := range 200 {
		want := map[string]bool{}
		var targets, excludes []string
		excluded := map[netip.Addr]bool{}
		for range 1 + r.IntN(8) {
			s, _, _ := randSpec()
			excludes = append(excludes, s)
			sp, err := parseExclusion(s)
			if err != nil {
				t.Fatal(err)
			}
			for a := u128ToAddr(sp.r.first, false); ; a = a.Next() {
				excluded[a] = true
				if a == u128ToAddr(sp.r.last, false) {
					break
				}
			}
		}
		for range 1 + r.IntN(10) {
			s, first, last := randSpec()
			port := 445
			if r.IntN(3) == 0 {
				port = 139
				s = fmt.Sprintf("%s:%d", s, port)
			}
			targets = append(targets, s)
			for a := first; a.Compare(last) <= 0; a = a.Next() {
				if !excluded[a] {
					want[netip.AddrPortFrom(a, uint16(port)).String()] = true
				}
			}
		}
		set := build(t, targets, excludes, nil)
		got := all(set)
		if uint64(len(want)) != set.Len() {
			t.Fatalf("iteration %d: Len %d, want %d (targets %q, excludes %q)", iter, set.Len(), len(want), targets, excludes)
		}
		seen := map[string]bool{}
		for _, s := range got {
			if !want[s] || seen[s] {
				t.Fatalf("iteration %d: unexpected or repeated target %s (targets %q, excludes %q)", iter, s, targets, excludes)
			}
			seen[s] = true
		}
		// Segments are sorted, disjoint and not adjacent within a port and family.
		for i := 1; i < len(set.segs); i++ {
			p, c := set.segs[i-1], set.segs[i]
			if p.port == c.port && p.v6 == c.v6 && c.first.cmp(p.first.add64(p.size)) <= 0 {
				t.Fatalf("iteration %d: segments %d and %d overlap or touch", iter, i-1, i)
			}
		}
	}
}

// TestBuildMatchesMapcidr checks CIDR-only inputs against mapcidr's CoalesceCIDRs and RemoveCIDRs.
func TestBuildMatchesMapcidr(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	randCIDR := func() string {
		a := netip.AddrFrom4([4]byte{10, byte(r.IntN(2)), byte(r.IntN(256)), byte(r.IntN(256))})
		return netip.PrefixFrom(a, 12+r.IntN(21)).Masked().String()
	}
	toNets := func(ss []string) []*net.IPNet {
		var out []*net.IPNet
		for _, s := range ss {
			_, n, err := net.ParseCIDR(s)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, n)
		}
		return out
	}
	for iter := range 200 {
		var targets, excludes []string
		for range 1 + r.IntN(6) {
			targets = append(targets, randCIDR())
		}
		for range r.IntN(4) {
			c := randCIDR()
			if p := netip.MustParsePrefix(c); p.Bits() < 16 {
				c = netip.PrefixFrom(p.Addr(), 16+r.IntN(17)).Masked().String()
			}
			excludes = append(excludes, c)
		}
		set := build(t, targets, excludes, nil)

		v4, _ := mapcidr.CoalesceCIDRs(toNets(targets))
		oracle := v4
		if len(excludes) > 0 {
			// mapcidr.RemoveCIDRs refuses to remove a network equal to an allowed one
			// ("allow CIDR prefix must be a superset..."), so drop those first.
			rm := toNets(excludes)
			oracle = slices.DeleteFunc(v4, func(a *net.IPNet) bool {
				return slices.ContainsFunc(rm, func(x *net.IPNet) bool { return x.String() == a.String() })
			})
			var err error
			if oracle, err = mapcidr.RemoveCIDRs(oracle, rm); err != nil {
				t.Fatalf("mapcidr: %v (targets %q, excludes %q)", err, targets, excludes)
			}
		}
		var n uint64
		for _, o := range oracle {
			n += mapcidr.AddressCountIpnet(o)
		}
		if n != set.Len() {
			t.Fatalf("iteration %d: Len %d, mapcidr counts %d (targets %q, excludes %q)", iter, set.Len(), n, targets, excludes)
		}
		// Every oracle network's first and last address is in our set, at a contiguous index span.
		for _, o := range oracle {
			first, last, _ := mapcidr.AddressRange(o)
			fa, _ := netip.AddrFromSlice(first.To4())
			la, _ := netip.AddrFromSlice(last.To4())
			if !setHas(set, fa, 445) || !setHas(set, la, 445) {
				t.Fatalf("iteration %d: %s not covered (targets %q, excludes %q)", iter, o, targets, excludes)
			}
		}
	}
}

// setHas reports whether set has addr:port, by binary search over its segments.
func setHas(set *TargetSet, a netip.Addr, port uint16) bool {
	v, v6 := addrToU128(a)
	for _, g := range set.segs {
		if g.host == "" && g.port == port && g.v6 == v6 && g.first.cmp(v) <= 0 && v.cmp(g.first.add64(g.size-1)) <= 0 {
			return true
		}
	}
	return false
}

func TestAtAcrossSegments(t *testing.T) {
	// An IPv6 range that carries from the low to the high 64 bits.
	set := build(t, []string{
		"[2001:db8:0:0:ffff:ffff:ffff:fffe-2001:db8:0:1::1]:139",
		"10.0.0.254-10.0.1.1",
		"192.0.2.7:80",
	}, nil, nil)
	want := []string{
		"192.0.2.7:80",
		"[2001:db8::ffff:ffff:ffff:fffe]:139", "[2001:db8::ffff:ffff:ffff:ffff]:139", "[2001:db8:0:1::]:139", "[2001:db8:0:1::1]:139",
		"10.0.0.254:445", "10.0.0.255:445", "10.0.1.0:445", "10.0.1.1:445",
	}
	if got := all(set); !slices.Equal(got, want) {
		t.Fatalf("targets = %v\nwant %v", got, want)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("At(Len()) did not panic")
		}
	}()
	set.At(set.Len())
}

func TestBuildNames(t *testing.T) {
	res := &fakeResolver{addrs: map[string][]string{
		"fs.example.com": {"2001:db8::5", "192.0.2.10", "192.0.2.11"}, // prefers the first IPv4
		"v6only":         {"2001:db8::6", "2001:db8::7"},
		"mapped":         {"::ffff:192.0.2.12"},
		"empty":          {},
		"excluded":       {"198.51.100.1"},
	}}
	set := build(t, []string{
		"fs.example.com", "FS.example.com.", "fs.example.com:139", // the second is a duplicate
		"v6only", "mapped", "empty", "missing.example", "excluded",
		"192.0.2.10", // a literal is its own target, beside the name that resolves to it
	}, []string{"198.51.100.0/24"}, res)
	want := []string{
		"192.0.2.10:445",
		"empty:err",
		"fs.example.com:139=192.0.2.10",
		"fs.example.com:445=192.0.2.10",
		"mapped:445=192.0.2.12",
		"missing.example:err",
		"v6only:445=2001:db8::6",
	}
	got := all(set)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("targets = %v\nwant %v", got, want)
	}
	if set.ExcludedNames() != 1 {
		t.Errorf("ExcludedNames = %d, want 1", set.ExcludedNames())
	}
	// fs.example.com is looked up once although it appears with two ports.
	if n := res.calls.Load(); n != 6 {
		t.Errorf("%d lookups, want 6", n)
	}
	for i := range set.Len() {
		tg := set.At(i)
		switch tg.Host {
		case "missing.example":
			var dnsErr *net.DNSError
			if !errors.As(tg.Err, &dnsErr) || !strings.Contains(tg.Err.Error(), `resolve "missing.example"`) {
				t.Errorf("missing.example error = %v", tg.Err)
			}
			if tg.Addr.IsValid() {
				t.Errorf("failed name has address %s", tg.Addr)
			}
		case "empty":
			if tg.Err == nil || tg.Err.Error() != `resolve "empty": no addresses` {
				t.Errorf("empty error = %v", tg.Err)
			}
		}
	}
}

func TestBuildResolverConcurrency(t *testing.T) {
	res := &fakeResolver{addrs: map[string][]string{}, delay: 5 * time.Millisecond}
	b := NewTargetBuilder(445)
	b.LookupConcurrency = 3
	for i := range 30 {
		name := fmt.Sprintf("h%d.example", i)
		res.addrs[name] = []string{fmt.Sprintf("192.0.2.%d", i)}
		if err := b.Add(name); err != nil {
			t.Fatal(err)
		}
	}
	set, err := b.Build(context.Background(), res)
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 30 {
		t.Fatalf("Len = %d", set.Len())
	}
	if res.maxFlight > 3 || res.maxFlight < 1 {
		t.Fatalf("max concurrent lookups %d, limit 3", res.maxFlight)
	}
	for i := range set.Len() {
		if tg := set.At(i); tg.Err != nil || !tg.Addr.IsValid() {
			t.Fatalf("target %d: %+v", i, tg)
		}
	}

	// A cancelled context ends Build with its error.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Build(ctx, res); !errors.Is(err, context.Canceled) {
		t.Fatalf("Build with cancelled ctx: %v", err)
	}

	// The per-lookup timeout turns a hung lookup into an error target.
	slow := &fakeResolver{addrs: map[string][]string{"slow": {"192.0.2.1"}}, delay: time.Minute}
	b = NewTargetBuilder(445)
	b.LookupTimeout = 10 * time.Millisecond
	if err := b.Add("slow"); err != nil {
		t.Fatal(err)
	}
	set, err = b.Build(context.Background(), slow)
	if err != nil {
		t.Fatal(err)
	}
	if tg := set.At(0); !errors.Is(tg.Err, context.DeadlineExceeded) {
		t.Fatalf("slow lookup: %+v", tg)
	}
}

func TestAddReader(t *testing.T) {
	in := "# office networks\n" +
		"10.0.0.1, 10.0.0.2 10.0.0.3\t10.0.0.4 # trailing comment\n" +
		"\n" +
		"   \n" +
		"10.0.0.300,10.0.0.5\r\n" +
		"fs.example.com:139,,a..b\n" +
		"#10.0.0.99\n"
	b := NewTargetBuilder(445)
	bad, err := b.AddReader(strings.NewReader(in), "targets.txt", false)
	if err != nil {
		t.Fatal(err)
	}
	wantBad := []string{
		`targets.txt:5: invalid target "10.0.0.300": not an IP address, CIDR (10.0.0.0/24), range (10.0.0.1-10.0.0.9) or hostname`,
		`targets.txt:6: invalid target "a..b": not a valid hostname: empty label (".." or a leading '.')`,
	}
	var gotBad []string
	for _, e := range bad {
		gotBad = append(gotBad, e.Error())
	}
	if !slices.Equal(gotBad, wantBad) {
		t.Fatalf("bad = %q\nwant %q", gotBad, wantBad)
	}
	set, err := b.Build(context.Background(), &fakeResolver{addrs: map[string][]string{"fs.example.com": {"192.0.2.1"}}})
	if err != nil {
		t.Fatal(err)
	}
	want := append(expand("10.0.0.1", "10.0.0.5", 445), "fs.example.com:139=192.0.2.1")
	if got := all(set); !slices.Equal(got, want) {
		t.Fatalf("targets = %v\nwant %v", got, want)
	}

	// Strict mode makes bad entries fatal.
	bad, err = NewTargetBuilder(445).AddReader(strings.NewReader(in), "targets.txt", true)
	if len(bad) != 2 || err == nil || !strings.HasPrefix(err.Error(), `targets.txt: 2 invalid entries (first: targets.txt:5: invalid target "10.0.0.300"`) {
		t.Fatalf("strict: bad %v, err %v", bad, err)
	}

	// Exclusion files.
	b = NewTargetBuilder(445)
	_ = b.Add("10.0.0.0/29")
	bad, err = b.ExcludeReader(strings.NewReader("10.0.0.0-3 # first half\nfileserver\n10.0.0.7\n"), "skip.txt", false)
	if err != nil || len(bad) != 1 || !strings.HasPrefix(bad[0].Error(), `skip.txt:2: invalid exclusion "fileserver"`) {
		t.Fatalf("ExcludeReader: bad %v, err %v", bad, err)
	}
	set, _ = b.Build(context.Background(), &fakeResolver{})
	if got, want := all(set), expand("10.0.0.4", "10.0.0.6", 445); !slices.Equal(got, want) {
		t.Fatalf("targets = %v\nwant %v", got, want)
	}
}

func TestAddReaderLimits(t *testing.T) {
	// Many bad entries: the list is capped and counts the rest.
	var sb strings.Builder
	for range maxBadLines + 5 {
		sb.WriteString("bad!\n")
	}
	bad, err := NewTargetBuilder(445).AddReader(strings.NewReader(sb.String()), "f", false)
	if err != nil || len(bad) != maxBadLines+1 || bad[maxBadLines].Error() != "f: 5 more invalid entries not shown" {
		t.Fatalf("got %d bad entries (last %v), err %v", len(bad), bad[len(bad)-1], err)
	}
	if n := InvalidCount(bad); n != maxBadLines+5 {
		t.Fatalf("InvalidCount = %d, want %d", n, maxBadLines+5)
	}
	if n := InvalidCount(bad[:7]); n != 7 {
		t.Fatalf("InvalidCount of 7 entries without a count = %d", n)
	}
	// A failing reader.
	_, err = NewTargetBuilder(445).AddReader(iotestErrReader{}, "f", false)
	if err == nil || !strings.Contains(err.Error(), "reading f: boom") {
		t.Fatalf("reader error: %v", err)
	}
}

// TestAddReaderLongLines: a line longer than 1 MiB is one bad entry naming file:line, skipped
// without being buffered; reading goes on with the next line; -strict makes it fatal.
func TestAddReaderLongLines(t *testing.T) {
	pad := func(target string, n int) string { return target + strings.Repeat(" ", n-len(target)) }
	in := "10.0.0.1\n" +
		strings.Repeat("1", 2<<20) + "\n" + // over the limit
		pad("10.0.0.2", maxLineLen) + "\n" + // exactly at the limit: read
		pad("10.0.0.3", maxLineLen+1) + "\n" + // one byte over
		"10.0.0.4\r\n" +
		strings.Repeat("x!", 1<<20) // over the limit at the end, without a newline
	for _, rd := range []struct {
		name string
		r    func() io.Reader
	}{
		{"whole", func() io.Reader { return strings.NewReader(in) }},
		{"bytewise", func() io.Reader { return iotest.OneByteReader(strings.NewReader(in)) }},
		{"halves", func() io.Reader { return iotest.HalfReader(strings.NewReader(in)) }},
	} {
		if rd.name == "bytewise" && testing.Short() {
			continue
		}
		b := NewTargetBuilder(445)
		bad, err := b.AddReader(rd.r(), "f", false)
		if err != nil {
			t.Fatalf("%s: not strict, yet fatal: %v", rd.name, err)
		}
		var got []string
		for _, e := range bad {
			got = append(got, e.Error())
		}
		want := []string{"f:2: " + errLongLine.Error(), "f:4: " + errLongLine.Error(), "f:6: " + errLongLine.Error()}
		if !slices.Equal(got, want) {
			t.Fatalf("%s: bad = %q\nwant %q", rd.name, got, want)
		}
		set, _ := b.Build(context.Background(), &fakeResolver{})
		if got, want := all(set), []string{"10.0.0.1:445", "10.0.0.2:445", "10.0.0.4:445"}; !slices.Equal(got, want) {
			t.Fatalf("%s: targets = %v, want %v", rd.name, got, want)
		}
	}
	if !strings.Contains(errLongLine.Error(), "1 MiB") {
		t.Fatalf("message %q does not say the limit", errLongLine)
	}

	// Strict: fatal, naming the line.
	_, err := NewTargetBuilder(445).AddReader(strings.NewReader(in), "f", true)
	if err == nil || !strings.Contains(err.Error(), "f: 3 invalid entries (first: f:2: line longer than 1 MiB") {
		t.Fatalf("strict: %v", err)
	}

	// Memory stays bounded: a 64 MiB line is discarded, not held.
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b := NewTargetBuilder(445)
	bad, err := b.AddReader(io.MultiReader(strings.NewReader("10.0.0.1\n"), &repeatReader{b: 'x', n: 64 << 20},
		strings.NewReader("\n10.0.0.2\n")), "big", false)
	runtime.ReadMemStats(&after)
	if err != nil || len(bad) != 1 || !strings.HasPrefix(bad[0].Error(), "big:2: line longer than 1 MiB") {
		t.Fatalf("64 MiB line: bad %v, err %v", bad, err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 8<<20 {
		t.Errorf("reading a 64 MiB line allocated %d bytes", n)
	}
	if set, _ := b.Build(context.Background(), &fakeResolver{}); set.Len() != 2 {
		t.Errorf("%d targets around the 64 MiB line, want 2", set.Len())
	}
}

// repeatReader yields n copies of b.
type repeatReader struct {
	b byte
	n int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	p = p[:min(len(p), r.n)]
	for i := range p {
		p[i] = r.b
	}
	r.n -= len(p)
	return len(p), nil
}

// TestAddReaderEncodings: a UTF-8 byte-order mark at the very start is skipped (targets and
// exclusions, however the reader splits it); elsewhere it is garbage; CRLF and lone CR line
// ends work; a UTF-16 byte-order mark is one clear error, not a warning per line.
func TestAddReaderEncodings(t *testing.T) {
	const bom = "\xef\xbb\xbf"
	in := bom + "10.0.0.1\r\n10.0.0.2 # two\r\n\r\n10.0.0.3\r10.0.0.4\r\n10.0.0.5"
	for _, r := range []io.Reader{
		strings.NewReader(in),
		iotest.OneByteReader(strings.NewReader(in)),
		iotest.DataErrReader(strings.NewReader(in)),
	} {
		b := NewTargetBuilder(445)
		bad, err := b.AddReader(r, "f", true)
		if err != nil || len(bad) != 0 {
			t.Fatalf("BOM and CRLF: bad %v, err %v", bad, err)
		}
		set, _ := b.Build(context.Background(), &fakeResolver{})
		if got, want := all(set), expand("10.0.0.1", "10.0.0.5", 445); !slices.Equal(got, want) {
			t.Fatalf("targets = %v, want %v", got, want)
		}
	}
	// Only the very start: a second mark, or one after a blank line, is garbage.
	bad, err := NewTargetBuilder(445).AddReader(strings.NewReader(bom+bom+"10.0.0.1\n"+bom+"10.0.0.2\n"), "f", false)
	if err != nil || len(bad) != 2 || !strings.HasPrefix(bad[0].Error(), "f:1: invalid target") || !strings.HasPrefix(bad[1].Error(), "f:2: invalid target") {
		t.Fatalf("BOM not at the start: bad %v, err %v", bad, err)
	}
	// Exclusions.
	b := NewTargetBuilder(445)
	_ = b.Add("10.0.0.0/30")
	if bad, err := b.ExcludeReader(strings.NewReader(bom+"10.0.0.0-1\r\n"), "x", true); err != nil || len(bad) != 0 {
		t.Fatalf("exclusions with a BOM: bad %v, err %v", bad, err)
	}
	set, _ := b.Build(context.Background(), &fakeResolver{})
	if got, want := all(set), expand("10.0.0.2", "10.0.0.3", 445); !slices.Equal(got, want) {
		t.Fatalf("targets = %v, want %v", got, want)
	}
	// Short inputs that begin like a mark.
	for _, s := range []string{"", "\xef", "\xef\xbb", bom, bom + "\n"} {
		bad, err := NewTargetBuilder(445).AddReader(strings.NewReader(s), "f", false)
		wantBad := 0
		if s == "\xef" || s == "\xef\xbb" {
			wantBad = 1
		}
		if err != nil || len(bad) != wantBad {
			t.Errorf("%q: bad %v, err %v", s, bad, err)
		}
	}
	// UTF-16, either byte order.
	for _, s := range []string{"\xff\xfe1\x000\x00.\x000\x00.\x000\x00.\x001\x00\r\x00\n\x00", "\xfe\xff\x001\x000\x00.\x000\x00.\x000\x00.\x001\x00\n"} {
		for _, read := range []func(*TargetBuilder, io.Reader, string, bool) ([]error, error){(*TargetBuilder).AddReader, (*TargetBuilder).ExcludeReader} {
			bad, err := read(NewTargetBuilder(445), strings.NewReader(s), "list.txt", false)
			if err == nil || len(bad) != 0 {
				t.Fatalf("UTF-16 % x: bad %v, err %v", s[:2], bad, err)
			}
			for _, w := range []string{"list.txt", "UTF-16", "convert it to UTF-8"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("UTF-16 error %q lacks %q", err, w)
				}
			}
		}
	}
}

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errors.New("boom") }

// TestCompaction checks that many single addresses are merged while being added, so the builder
// holds O(ranges), not O(inputs).
func TestCompaction(t *testing.T) {
	b := NewTargetBuilder(445)
	for i := range 1 << 16 {
		a := netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
		if err := b.Add(a.String()); err != nil {
			t.Fatal(err)
		}
	}
	l := b.ranges[rangeKey{445, false}]
	if len(l.rs) > 2048 {
		t.Fatalf("builder holds %d ranges for one /16 given address by address", len(l.rs))
	}
	set, err := b.Build(context.Background(), &fakeResolver{})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.segs) != 1 || set.Len() != 1<<16 {
		t.Fatalf("%d segments, Len %d", len(set.segs), set.Len())
	}
}

// TestSlash8Memory checks that a /8 is one range: building it allocates a few small objects,
// and At does not allocate.
func TestSlash8Memory(t *testing.T) {
	var set *TargetSet
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	allocs := testing.AllocsPerRun(10, func() {
		b := NewTargetBuilder(445)
		if err := b.Add("10.0.0.0/8"); err != nil {
			t.Fatal(err)
		}
		if err := b.Add("10.0.0.0/8:139"); err != nil {
			t.Fatal(err)
		}
		if err := b.Exclude("10.10.0.0/16"); err != nil {
			t.Fatal(err)
		}
		var err error
		if set, err = b.Build(context.Background(), &fakeResolver{}); err != nil {
			t.Fatal(err)
		}
	})
	runtime.ReadMemStats(&after)
	if want := uint64(2 * (1<<24 - 1<<16)); set.Len() != want {
		t.Fatalf("Len = %d, want %d", set.Len(), want)
	}
	if len(set.segs) != 4 {
		t.Fatalf("%d segments, want 4", len(set.segs))
	}
	if allocs > 50 {
		t.Errorf("building two /8s allocates %v objects per run", allocs)
	}
	// 11 builds (AllocsPerRun warms up once); anything materialised would be ≥ 64 MiB each.
	if perBuild := (after.TotalAlloc - before.TotalAlloc) / 11; perBuild > 64<<10 {
		t.Errorf("building two /8s allocates %d bytes", perBuild)
	}
	var sink Target
	if n := testing.AllocsPerRun(1000, func() { sink = set.At(uint64(rand.Int64N(int64(set.Len())))) }); n != 0 {
		t.Errorf("At allocates %v times", n)
	}
	_ = sink
	if got := set.At(set.Len() - 1).String(); got != "10.255.255.255:445" {
		t.Errorf("last target %s", got)
	}
}

func TestAppendSegOverflow(t *testing.T) {
	s := &TargetSet{}
	if err := s.appendSeg(segment{size: 1 << 63}); err != nil {
		t.Fatal(err)
	}
	if err := s.appendSeg(segment{size: 1<<63 - 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.appendSeg(segment{size: 1}); !errors.Is(err, errTooLarge) {
		t.Fatalf("overflow: %v", err)
	}
	var nilSet *TargetSet
	if nilSet.Len() != 0 {
		t.Fatal("nil set has targets")
	}
}

func BenchmarkTargetSetAt(b *testing.B) {
	bl := NewTargetBuilder(445)
	for i := range 1000 {
		_ = bl.Add(fmt.Sprintf("10.%d.%d.0/25", i/256, i%256))
	}
	set, err := bl.Build(context.Background(), &fakeResolver{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var sink Target
	for i := 0; b.Loop(); i++ {
		sink = set.At(uint64(i) % set.Len())
	}
	_ = sink
}
