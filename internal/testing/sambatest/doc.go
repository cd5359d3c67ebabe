// Package sambatest runs real Samba servers (smbd) on loopback addresses for
// smbsweep's integration tests and demo.
//
// StartFleet starts one smbd per Config, each with its own 127.x.y.z address
// on port 445 (added to lo and removed again on Stop) or, when that is not
// possible, its own high port on 127.0.0.1. Every instance has private copies
// of the directories Samba would otherwise share machine-wide (private, lock,
// state, cache, pid, ncalrpc, ...), its own tdbsam passdb holding TestUser,
// and its own samba-dcerpcd for SRVSVC share enumeration. Next to the servers
// a fleet has a silent TCP endpoint, an HTTP endpoint and a closed one.
//
// Fleets of concurrent test binaries never collide: each claims a random free
// /24 block in a registry under /run/smbsweep-sambatest, and a fleet whose
// owner died is reaped by the next StartFleet.
//
// Tests use Require, with Main in TestMain:
//
//	func TestMain(m *testing.M) { sambatest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		fleet := sambatest.Require(t)
//		srv := fleet.Server("smb1")
//		...
//	}
//
// Only loopback addresses are ever used.
package sambatest
