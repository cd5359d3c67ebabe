//go:build !linux

package sambatest

import (
	"net/netip"
	"os"
	"syscall"
)

// The harness needs Linux (/proc, netlink, Pdeathsig); elsewhere StartFleet
// returns errUnsupported and Require skips.
const supported = false

type procInfo struct {
	PID, PPID, PGID int
	State           byte
	Start           uint64
	Cmdline         string
}

func childAttr() *syscall.SysProcAttr                   { return nil }
func readProc(int) (procInfo, error)                    { return procInfo{}, errUnsupported }
func listProcs() ([]procInfo, error)                    { return nil, errUnsupported }
func processesReferencing([]string) ([]procInfo, error) { return nil, errUnsupported }
func processAlive(int, uint64) bool                     { return false }
func selfStart() uint64                                 { return 0 }
func addLoopbackAddr(netip.Addr) error                  { return errUnsupported }
func delLoopbackAddr(netip.Addr) error                  { return errUnsupported }
func configuredAddrs() ([]netip.Addr, error)            { return nil, errUnsupported }
func killGroup(int, syscall.Signal) error               { return errUnsupported }
func killPID(int, syscall.Signal) error                 { return errUnsupported }
func lockFile(*os.File) error                           { return errUnsupported }
func unlockFile(*os.File) error                         { return errUnsupported }

func becomeSubreaper()             {}
func reapOrphans(map[int]bool) int { return 0 }
