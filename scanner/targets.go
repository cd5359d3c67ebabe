package scanner

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// Resolver looks up host names. *net.Resolver (net.DefaultResolver) satisfies it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// DefaultPort is the port used when NewTargetBuilder is given 0.
const DefaultPort = 445

// Defaults for name resolution in Build.
const (
	DefaultLookupConcurrency = 16
	DefaultLookupTimeout     = 10 * time.Second
)

// maxBadLines caps how many bad-line errors AddReader keeps (the count is still reported).
const maxBadLines = 1000

// maxLineLen is the longest line AddReader reads, in bytes before the '\n': a longer line is
// one bad entry, skipped without being held in memory.
const maxLineLen = 1 << 20

var errLongLine = errors.New("line longer than 1 MiB, skipped: a target list holds one or a few targets per line (is this the right file?)")

// MoreInvalidError is the last entry of the bad list from AddReader or ExcludeReader when there
// were more bad entries than it keeps: it counts the ones not shown.
type MoreInvalidError struct {
	Name string // the input's name
	N    int    // the number of bad entries not in the list
}

func (e *MoreInvalidError) Error() string {
	return fmt.Sprintf("%s: %d more invalid entries not shown", e.Name, e.N)
}

// InvalidCount returns how many bad entries a bad list from AddReader or ExcludeReader stands
// for: the entries listed plus those its final MoreInvalidError counts.
func InvalidCount(bad []error) int {
	n := len(bad)
	if n > 0 {
		var more *MoreInvalidError
		if errors.As(bad[n-1], &more) {
			n += more.N - 1
		}
	}
	return n
}

// rangeKey groups address ranges: one sorted range list per port and family.
type rangeKey struct {
	port uint16
	v6   bool
}

// rangeList is a growing list of ranges, compacted (sorted and merged) whenever it has doubled
// since the last compaction, so that a file of a million single addresses within a few subnets
// does not hold a million entries.
type rangeList struct {
	rs        []ipRange
	compacted int
}

func (l *rangeList) add(r ipRange) {
	l.rs = append(l.rs, r)
	if len(l.rs) >= 2*l.compacted+1024 {
		l.rs = mergeRanges(l.rs)
		l.compacted = len(l.rs)
	}
}

// nameKey identifies a named target for de-duplication: names compare case-insensitively and
// without a trailing dot.
type nameKey struct {
	name string
	port uint16
}

type nameTarget struct {
	name string // as first given
	port uint16
}

// TargetBuilder collects target and exclusion specifications; Build turns them into a
// TargetSet. A TargetBuilder is not safe for concurrent use.
type TargetBuilder struct {
	// LookupConcurrency bounds concurrent name lookups in Build (default 16).
	LookupConcurrency int
	// LookupTimeout bounds each name lookup in Build (default 10s).
	LookupTimeout time.Duration
	// ShortNames lets AddReader (and AddFile's target lists) take a single word without a dot
	// as a host name. Without it a name from a file must look like one: contain a dot
	// (fileserver.corp.example) or be localhost; a lone word such as "Up", "open" or "tcp"
	// (nmap or masscan output read as a list) is a bad entry, never a DNS lookup. Names
	// given to Add (the command line) are taken as they are.
	ShortNames bool

	defaultPort uint16
	ranges      map[rangeKey]*rangeList
	names       []nameTarget
	seen        map[nameKey]struct{}
	excl        [2]rangeList // [0] IPv4, [1] IPv6
}

// NewTargetBuilder returns an empty builder whose targets without an explicit port use
// defaultPort (DefaultPort, 445, when 0).
func NewTargetBuilder(defaultPort uint16) *TargetBuilder {
	if defaultPort == 0 {
		defaultPort = DefaultPort
	}
	return &TargetBuilder{
		defaultPort: defaultPort,
		ranges:      make(map[rangeKey]*rangeList),
		seen:        make(map[nameKey]struct{}),
	}
}

// Add adds one target specification:
//
//	10.0.0.1  2001:db8::1              an address
//	10.0.0.0/24  2001:db8::/120        a CIDR (IPv6 no wider than /96)
//	10.0.0.1-10.0.0.9  10.0.0.1-9      a range, or a last-octet range
//	2001:db8::1-2001:db8::ff           an IPv6 range (at most 2^32 addresses)
//	fileserver.example.com             a host name, resolved in Build
//	host:139  10.0.0.1:139  [2001:db8::1]:139  10.0.0.0/24:139  [2001:db8::/120]:139
//	                                   any of the above with a port
//
// The error names the input and says what was expected.
func (b *TargetBuilder) Add(s string) error {
	sp, err := parseTarget(s)
	if err != nil {
		return err
	}
	b.addSpec(sp)
	return nil
}

func (b *TargetBuilder) addSpec(sp spec) {
	port := b.defaultPort
	if sp.hasPort {
		port = sp.port
	}
	if sp.kind == specName {
		k := nameKey{strings.ToLower(strings.TrimSuffix(sp.name, ".")), port}
		if _, dup := b.seen[k]; dup {
			return
		}
		b.seen[k] = struct{}{}
		b.names = append(b.names, nameTarget{sp.name, port})
		return
	}
	k := rangeKey{port, sp.v6}
	l := b.ranges[k]
	if l == nil {
		l = &rangeList{}
		b.ranges[k] = l
	}
	l.add(sp.r)
}

// Exclude removes an address, CIDR or range (any width, IPv4 or IPv6) from the targets of
// every port. Names and ports are rejected.
func (b *TargetBuilder) Exclude(s string) error {
	sp, err := parseExclusion(s)
	if err != nil {
		return err
	}
	b.excludeSpec(sp)
	return nil
}

func (b *TargetBuilder) excludeSpec(sp spec) {
	i := 0
	if sp.v6 {
		i = 1
	}
	b.excl[i].add(sp.r)
}

// AddReader adds the specifications in r, named name in messages (a file name, or "-" for
// stdin). Each line holds one or more specifications separated by commas or white space; '#'
// starts a comment and blank lines are ignored; lines end in LF or CRLF (a CR is white space),
// and a UTF-8 byte-order mark at the very start is skipped. Each bad specification, and each line longer
// than 1 MiB (skipped), yields one error in bad naming name:line and the text: at most 1000 are
// kept, and then a final *MoreInvalidError counts the rest (InvalidCount gives the total). err is
// non-nil when reading fails, when r starts with a UTF-16 byte-order mark, or, when strict, when
// any specification was bad.
func (b *TargetBuilder) AddReader(r io.Reader, name string, strict bool) (bad []error, err error) {
	parse := parseTarget
	if !b.ShortNames {
		parse = parseFileTarget
	}
	return readSpecs(r, name, strict, parse, b.addSpec)
}

// parseFileTarget is parseTarget for a line of a file: a host name must contain a dot or be
// localhost (see TargetBuilder.ShortNames).
func parseFileTarget(s string) (spec, error) {
	sp, err := parseTarget(s)
	if err != nil || sp.kind != specName {
		return sp, err
	}
	name := strings.TrimSuffix(sp.name, ".")
	if !strings.Contains(name, ".") && !strings.EqualFold(name, "localhost") {
		return spec{}, fmt.Errorf("invalid target %s: a single word in a file is not taken as a host name; write the full name (e.g. fileserver.corp.example), or give -resolve to look up short names", quote(s))
	}
	return sp, nil
}

// ExcludeReader is AddReader for exclusions (Exclude's forms).
func (b *TargetBuilder) ExcludeReader(r io.Reader, name string, strict bool) (bad []error, err error) {
	return readSpecs(r, name, strict, parseExclusion, b.excludeSpec)
}

func readSpecs(r io.Reader, name string, strict bool, parse func(string) (spec, error), add func(spec)) (bad []error, err error) {
	lr, err := newLineReader(r, name)
	if err != nil {
		return nil, err
	}
	line, nbad := 0, 0
	report := func(err error) {
		nbad++
		if len(bad) < maxBadLines {
			bad = append(bad, fmt.Errorf("%s:%d: %w", name, line, err))
		}
	}
	for {
		text, tooLong, rerr := lr.next()
		if rerr != nil {
			if rerr != io.EOF {
				err = fmt.Errorf("reading %s: %w", name, rerr)
			}
			break
		}
		line++
		if tooLong {
			report(errLongLine)
			continue
		}
		if i := bytes.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		for field := range strings.FieldsFuncSeq(string(text), isSeparator) {
			sp, perr := parse(field)
			if perr != nil {
				report(perr)
				continue
			}
			add(sp)
		}
	}
	if nbad > maxBadLines {
		bad = append(bad, &MoreInvalidError{Name: name, N: nbad - maxBadLines})
	}
	if err != nil {
		return bad, err
	}
	if strict && nbad > 0 {
		return bad, fmt.Errorf("%s: %d invalid entries (first: %w)", name, nbad, bad[0])
	}
	return bad, nil
}

// lineReader splits a stream into lines of at most maxLineLen bytes, holding no more than that.
type lineReader struct {
	br   *bufio.Reader
	buf  []byte
	done bool
}

// newLineReader skips a UTF-8 byte-order mark at the start of r and refuses a UTF-16 one.
func newLineReader(r io.Reader, name string) (*lineReader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(3)
	switch {
	case err == io.EOF:
		// Fewer than 3 bytes: read them from a copy, so that r is not read again after its
		// end (a terminal would wait for a second end-of-file).
		br = bufio.NewReader(bytes.NewReader(bytes.Clone(head)))
	case err != nil:
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	switch {
	case bytes.HasPrefix(head, []byte{0xef, 0xbb, 0xbf}):
		_, _ = br.Discard(3)
	case bytes.HasPrefix(head, []byte{0xff, 0xfe}), bytes.HasPrefix(head, []byte{0xfe, 0xff}):
		return nil, fmt.Errorf("%s: starts with a UTF-16 byte-order mark (% X): convert it to UTF-8 (e.g. iconv -f UTF-16 -t UTF-8 %s)", name, head[:2], name)
	}
	return &lineReader{br: br}, nil
}

// next returns the next line without its '\n', valid until the following call, or tooLong
// for a line longer than maxLineLen (read to its end and dropped), or io.EOF after the last
// line (a final line without '\n' included).
func (lr *lineReader) next() (line []byte, tooLong bool, err error) {
	if lr.done {
		return nil, false, io.EOF
	}
	lr.buf = lr.buf[:0]
	started := false
	for {
		chunk, err := lr.br.ReadSlice('\n')
		started = started || len(chunk) > 0
		end := len(chunk) > 0 && chunk[len(chunk)-1] == '\n'
		if end {
			chunk = chunk[:len(chunk)-1]
		}
		if !tooLong {
			if len(lr.buf)+len(chunk) > maxLineLen {
				tooLong, lr.buf = true, lr.buf[:0]
			} else {
				lr.buf = append(lr.buf, chunk...)
			}
		}
		switch {
		case end:
			return lr.buf, tooLong, nil
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF:
			lr.done = true
			if !started {
				return nil, false, io.EOF
			}
			return lr.buf, tooLong, nil
		case err != nil:
			lr.done = true
			return nil, false, err
		}
	}
}

func isSeparator(r rune) bool {
	return r == ',' || r == ' ' || r == '\t' || r == '\r' || r == '\v' || r == '\f'
}

// segment is one contiguous part of a TargetSet's index space: a range of addresses on one port,
// or one named target.
type segment struct {
	off   uint64 // index of the segment's first target
	size  uint64
	first u128
	v6    bool
	port  uint16
	host  string
	err   error
}

// TargetSet is an immutable, indexable set of targets: index i in [0, Len()) maps to one target.
// Address ranges come first (ordered by port, family, address), then named targets (ordered by
// name and port). It is safe for concurrent use.
type TargetSet struct {
	segs          []segment
	n             uint64
	excludedNames int
}

// Len returns the number of targets.
func (s *TargetSet) Len() uint64 {
	if s == nil {
		return 0
	}
	return s.n
}

// ExcludedNames returns how many named targets were dropped because the address they
// resolved to is excluded.
func (s *TargetSet) ExcludedNames() int { return s.excludedNames }

// At returns target i. It panics if i >= Len(). It does not allocate.
func (s *TargetSet) At(i uint64) Target {
	if i >= s.n {
		panic(fmt.Sprintf("scanner: TargetSet.At(%d) out of range [0, %d)", i, s.n))
	}
	// Find the last segment with off <= i.
	lo, hi := 0, len(s.segs)
	for hi-lo > 1 {
		m := int(uint(lo+hi) >> 1)
		if s.segs[m].off <= i {
			lo = m
		} else {
			hi = m
		}
	}
	g := &s.segs[lo]
	t := Target{Port: g.port, Host: g.host, Err: g.err}
	if g.err == nil {
		t.Addr = u128ToAddr(g.first.add64(i-g.off), g.v6)
	}
	return t
}

// Build resolves the named targets with resolver (net.DefaultResolver when nil), at most
// LookupConcurrency at a time, and returns the set of all targets minus the exclusions. A name
// that does not resolve stays in the set with Target.Err set; a name whose address is excluded
// is dropped (see ExcludedNames). Build fails only when ctx ends or the set has more than
// 2^64-1 targets. The builder can be reused afterwards.
func (b *TargetBuilder) Build(ctx context.Context, resolver Resolver) (*TargetSet, error) {
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	resolved, err := b.resolve(ctx, resolver)
	if err != nil {
		return nil, err
	}
	var excl [2][]ipRange
	for i := range b.excl {
		b.excl[i].rs = mergeRanges(b.excl[i].rs)
		b.excl[i].compacted = len(b.excl[i].rs)
		excl[i] = b.excl[i].rs
	}
	set := &TargetSet{}
	if err := b.addRanges(set, excl); err != nil {
		return nil, err
	}
	if err := b.addNames(set, resolved, excl); err != nil {
		return nil, err
	}
	return set, nil
}

// family is the index of an address family in per-family tables: 0 IPv4, 1 IPv6.
func family(v6 bool) int {
	if v6 {
		return 1
	}
	return 0
}

// addRanges appends the address ranges minus the exclusions, by port, IPv4 before IPv6.
func (b *TargetBuilder) addRanges(set *TargetSet, excl [2][]ipRange) error {
	keys := make([]rangeKey, 0, len(b.ranges))
	for k := range b.ranges {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y rangeKey) int {
		if c := cmp.Compare(x.port, y.port); c != 0 {
			return c
		}
		return cmp.Compare(family(x.v6), family(y.v6))
	})
	var kept []ipRange
	for _, k := range keys {
		l := b.ranges[k]
		l.rs = mergeRanges(l.rs)
		l.compacted = len(l.rs)
		kept = subtractRanges(kept[:0], l.rs, excl[family(k.v6)])
		for _, r := range kept {
			n, ok := r.size()
			if !ok {
				return errTooLarge
			}
			if err := set.appendSeg(segment{size: n, first: r.first, v6: k.v6, port: k.port}); err != nil {
				return err
			}
		}
	}
	return nil
}

// addNames appends the named targets in the order given: a name that did not resolve keeps
// its error, a name whose address is excluded is dropped and counted.
func (b *TargetBuilder) addNames(set *TargetSet, resolved []resolution, excl [2][]ipRange) error {
	for i, nt := range b.names {
		res := resolved[i]
		g := segment{size: 1, port: nt.port, host: nt.name, err: res.err}
		if res.err == nil {
			v, v6 := addrToU128(res.addr)
			if containsAddr(excl[family(v6)], v) {
				set.excludedNames++
				continue
			}
			g.first, g.v6 = v, v6
		}
		if err := set.appendSeg(g); err != nil {
			return err
		}
	}
	return nil
}

var errTooLarge = errors.New("target set too large: more than 2^64-1 targets")

func (s *TargetSet) appendSeg(g segment) error {
	if s.n+g.size < s.n {
		return errTooLarge
	}
	g.off = s.n
	s.n += g.size
	s.segs = append(s.segs, g)
	return nil
}

// containsAddr reports whether v lies in one of the sorted, merged ranges rs.
func containsAddr(rs []ipRange, v u128) bool {
	i, _ := slices.BinarySearchFunc(rs, v, func(r ipRange, v u128) int {
		if r.last.cmp(v) < 0 {
			return -1
		}
		if r.first.cmp(v) > 0 {
			return 1
		}
		return 0
	})
	return i < len(rs) && rs[i].first.cmp(v) <= 0 && v.cmp(rs[i].last) <= 0
}

type resolution struct {
	addr netip.Addr
	err  error
}

// resolve looks up every distinct name once (a name given with several ports is looked up
// once), and returns one resolution per entry of b.names, in order.
func (b *TargetBuilder) resolve(ctx context.Context, resolver Resolver) ([]resolution, error) {
	out := make([]resolution, len(b.names))
	if len(b.names) == 0 {
		return out, nil
	}
	// Distinct names, and which entries of b.names each one serves.
	idx := make(map[string]int)
	var distinct []string
	which := make([]int, len(b.names))
	for i, nt := range b.names {
		k := strings.ToLower(strings.TrimSuffix(nt.name, "."))
		j, ok := idx[k]
		if !ok {
			j = len(distinct)
			idx[k] = j
			distinct = append(distinct, nt.name)
		}
		which[i] = j
	}
	results := make([]resolution, len(distinct))

	limit := b.LookupConcurrency
	if limit <= 0 {
		limit = DefaultLookupConcurrency
	}
	timeout := b.LookupTimeout
	if timeout <= 0 {
		timeout = DefaultLookupTimeout
	}
	var next int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range min(limit, len(distinct)) {
		wg.Go(func() {
			for ctx.Err() == nil {
				mu.Lock()
				j := next
				next++
				mu.Unlock()
				if j >= len(distinct) {
					return
				}
				results[j] = lookup(ctx, resolver, distinct[j], timeout)
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("resolving target names: %w", err)
	}
	for i := range out {
		out[i] = results[which[i]]
	}
	return out, nil
}

// lookup resolves one name, preferring the first IPv4 address returned, else the first address.
func lookup(ctx context.Context, resolver Resolver, name string, timeout time.Duration) resolution {
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addrs, err := resolver.LookupNetIP(lctx, "ip", name)
	if err != nil {
		return resolution{err: fmt.Errorf("resolve %q: %w", name, err)}
	}
	var pick netip.Addr
	for _, a := range addrs {
		a = a.Unmap()
		if !a.IsValid() {
			continue
		}
		if a.Is4() {
			pick = a
			break
		}
		if !pick.IsValid() {
			pick = a
		}
	}
	if !pick.IsValid() {
		return resolution{err: fmt.Errorf("resolve %q: no addresses", name)}
	}
	return resolution{addr: pick.WithZone("")}
}
