package scanner

// FDsPerHost is the most sockets one probed host holds at once (the SMB2 connection stays open
// while the SMB1 stage dials its own); FDReserve covers stdio, output files, listeners and the
// runtime.
const (
	FDsPerHost = 2
	FDReserve  = 64
)

// FilesNeeded is about how many file descriptors a run holds at most with conc probe slots and
// ahead connects ahead (Config.ConnectAhead): FDsPerHost per probing host, one per pending
// connect, and FDReserve.
func FilesNeeded(conc, ahead int) uint64 {
	return uint64(max(conc, 0))*FDsPerHost + uint64(max(ahead, 0)) + FDReserve
}
