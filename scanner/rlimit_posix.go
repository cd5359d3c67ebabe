//go:build linux || darwin

package scanner

import "syscall"

// RaiseOpenFileLimit raises the soft RLIMIT_NOFILE to need (at most the hard limit) when it is
// lower, and returns the soft limit then in force and the hard limit.
func RaiseOpenFileLimit(need uint64) (soft, hard uint64, err error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, 0, err
	}
	if uint64(rl.Cur) >= need || rl.Cur >= rl.Max {
		return uint64(rl.Cur), uint64(rl.Max), nil
	}
	want := rl
	want.Cur = min(rl.Max, need)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		return uint64(rl.Cur), uint64(rl.Max), nil
	}
	return uint64(want.Cur), uint64(want.Max), nil
}
