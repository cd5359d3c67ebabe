// Package scanner turns target specifications into a compact index space, walks it in a seeded
// permuted order (optionally one shard of it), and runs a bounded worker pool that calls a probe
// function once per target. It knows nothing of SMB.
//
// # Targets
//
// A [TargetBuilder] collects specifications (addresses, CIDRs, ranges, host names, each with an
// optional port) and exclusions, and [TargetBuilder.Build] produces a [TargetSet]: per port, the
// union of all address ranges minus the exclusions, kept as a sorted list of inclusive ranges. The
// set never materialises addresses: a /8 is one range, and [TargetSet.At] maps an index to a
// target by binary search over the cumulative range sizes, so memory is O(ranges) and a lookup
// is O(log ranges). Host names are resolved once in Build and occupy one index each (with
// [Target.Err] set when resolution failed, so nothing is silently dropped).
//
// Range algebra is done on our own sorted inclusive [first, last] ranges of 128-bit integers
// (ranges.go) rather than with github.com/projectdiscovery/mapcidr: the input forms include
// arbitrary ranges such as 10.0.0.3-10.0.0.77 that are not CIDR-aligned, and expressing them as
// CIDR lists only to coalesce and subtract them would be both slower and more code than a
// sort-and-sweep over ranges (mapcidr.RemoveCIDRs also refuses to remove a network equal to an
// allowed one). mapcidr is used where it is a clean fit: as an independent oracle in the tests
// (CoalesceCIDRs and RemoveCIDRs on CIDR-only inputs must agree with our result). Its
// channel-backed address streams and address lists are never used.
//
// # Order, shards and the worker pool
//
// [Permutation] is a keyed Feistel permutation with cycle walking over [0, N): it spreads
// consecutive addresses across the run (so one subnet is not hammered at once) without storing
// the order. [Shard] splits the permuted order into disjoint parts (position i belongs to shard
// i mod N; TestShardsUnionProperty checks 1..64 shards). [Run] dispatches targets to a fixed set
// of workers, each host with its own deadline and panic recovery; [Dialer] adds the
// new-connection rate limit and connect retries; [Progress] counts and prints progress.
//
// # Resume and connect-ahead
//
// A [Tracker] hands out the positions of a run and is told by the caller which are durably
// done; its [TrackerState] (next position, open positions — at most a few times the concurrency)
// is what a checkpoint stores, and a Tracker made from it dispatches exactly what is left.
//
// With Config.ConnectAhead, up to that many more targets wait for their first TCP connection
// outside the Concurrency probe slots (on Linux as non-blocking sockets on one epoll loop, no
// goroutine each); a connected target takes a slot and its probe gets that connection from the
// first [Dialer.DialContext] for its address. Addresses that drop SYNs then cost a socket only.
// A congestion window ([Congestion]) bounds the probes at once below Concurrency when the
// server (or the scanner's CPU) shows overload or queueing, and probe workers are started as
// the window needs them, so goroutines and their stacks follow the probes that actually run.
package scanner
