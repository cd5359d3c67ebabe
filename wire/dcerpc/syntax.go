package dcerpc

import (
	"encoding/binary"
	"encoding/hex"
	"strconv"
)

// UUID is a DCE UUID in its canonical (string) byte order, e.g. 4b324fc8-1670-01d3-1278-...
// is UUID{0x4b, 0x32, 0x4f, 0xc8, 0x16, 0x70, 0x01, 0xd3, 0x12, 0x78, ...}. On the wire the
// first three fields are little-endian (C706 appendix A, MS-RPCE 2.2.5.2 with packed_drep
// little-endian); AppendWire and uuidFromWire convert.
type UUID [16]byte

// AppendWire appends u in the mixed-endian NDR form: time_low, time_mid and
// time_hi_and_version byte-swapped, the last eight bytes as they are.
func (u UUID) AppendWire(dst []byte) []byte {
	return append(dst, u[3], u[2], u[1], u[0], u[5], u[4], u[7], u[6],
		u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15])
}

// uuidFromWire reads a UUID in the mixed-endian NDR form from the first 16 bytes of b.
func uuidFromWire(b []byte) UUID {
	_ = b[15]
	return UUID{b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6],
		b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]}
}

// String returns the UUID in the 8-4-4-4-12 lower-case hex form.
func (u UUID) String() string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], u[10:16])
	return string(b[:])
}

// SyntaxID names an interface or a transfer syntax and its version (p_syntax_id_t, C706
// 12.6.3.1): a UUID followed by a 32-bit version whose low 16 bits are the major version and
// high 16 bits the minor version.
type SyntaxID struct {
	UUID  UUID
	Major uint16
	Minor uint16
}

// syntaxIDSize is the wire size of a p_syntax_id_t.
const syntaxIDSize = 20

// AppendTo appends the 20-byte wire form of s.
func (s SyntaxID) AppendTo(dst []byte) []byte {
	dst = s.UUID.AppendWire(dst)
	dst = binary.LittleEndian.AppendUint16(dst, s.Major)
	return binary.LittleEndian.AppendUint16(dst, s.Minor)
}

// syntaxFromWire reads a p_syntax_id_t from the first 20 bytes of b.
func syntaxFromWire(b []byte) SyntaxID {
	_ = b[syntaxIDSize-1]
	return SyntaxID{
		UUID:  uuidFromWire(b),
		Major: binary.LittleEndian.Uint16(b[16:]),
		Minor: binary.LittleEndian.Uint16(b[18:]),
	}
}

var (
	// SRVSVCSyntax is the abstract syntax of the Server Service Remote Protocol:
	// 4b324fc8-1670-01d3-1278-5a47bf6ee188 version 3.0 (MS-SRVS 1.9).
	SRVSVCSyntax = SyntaxID{
		UUID:  UUID{0x4b, 0x32, 0x4f, 0xc8, 0x16, 0x70, 0x01, 0xd3, 0x12, 0x78, 0x5a, 0x47, 0xbf, 0x6e, 0xe1, 0x88},
		Major: 3,
	}
	// NDRSyntax is the NDR 2.0 transfer syntax: 8a885d04-1ceb-11c9-9fe8-08002b104860 version 2
	// (C706 appendix I, MS-RPCE 2.2.4.12).
	NDRSyntax = SyntaxID{
		UUID:  UUID{0x8a, 0x88, 0x5d, 0x04, 0x1c, 0xeb, 0x11, 0xc9, 0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60},
		Major: 2,
	}
)

// mustUUID parses a UUID in the 8-4-4-4-12 hex form; it is for the constants below and
// panics on a malformed one (a programming error caught by the package's tests).
func mustUUID(s string) UUID {
	var u UUID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		panic("dcerpc: malformed UUID constant " + s)
	}
	h := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	if _, err := hex.Decode(u[:], []byte(h)); err != nil {
		panic("dcerpc: malformed UUID constant " + s)
	}
	return u
}

// Abstract syntaxes of the interfaces smbsweep binds to when it maps the coercion surface
// (issue 12): it sends a BIND only, never a call (probes/rpc_allowlist.go).
var (
	// RPRNSyntax is the Print System Remote Protocol on \PIPE\spoolss:
	// 12345678-1234-abcd-ef00-0123456789ab version 1.0 (MS-RPRN 2.1.1).
	RPRNSyntax = SyntaxID{UUID: mustUUID("12345678-1234-abcd-ef00-0123456789ab"), Major: 1}
	// EFSRSyntax is the Encrypting File System Remote Protocol on \PIPE\efsrpc:
	// df1941c5-fe89-4e79-bf10-463657acf44d version 1.0 (MS-EFSR 3.1.4.2).
	EFSRSyntax = SyntaxID{UUID: mustUUID("df1941c5-fe89-4e79-bf10-463657acf44d"), Major: 1}
	// EFSRLsarpcSyntax is the same EFSRPC interface under the UUID it has on \PIPE\lsarpc
	// (and, on Windows, \PIPE\samr, \PIPE\netlogon and \PIPE\lsass, which share the lsass
	// process's endpoint): c681d488-d850-11d0-8c52-00c04fd90f7e version 1.0 (MS-EFSR 3.1.4.2).
	EFSRLsarpcSyntax = SyntaxID{UUID: mustUUID("c681d488-d850-11d0-8c52-00c04fd90f7e"), Major: 1}
	// DFSNMSyntax is the DFS Namespace Management Protocol on \PIPE\netdfs:
	// 4fc742e0-4a10-11cf-8273-00aa004ae673 version 3.0 (MS-DFSNM 2.1).
	DFSNMSyntax = SyntaxID{UUID: mustUUID("4fc742e0-4a10-11cf-8273-00aa004ae673"), Major: 3}
	// FSRVPSyntax is the File Server Remote VSS Protocol on \PIPE\FssagentRpc:
	// a8e0653c-2744-4389-a61d-7373df8b2292 version 1.0 (MS-FSRVP 2.1).
	FSRVPSyntax = SyntaxID{UUID: mustUUID("a8e0653c-2744-4389-a61d-7373df8b2292"), Major: 1}
	// EVENSyntax is the EventLog Remoting Protocol on \PIPE\eventlog:
	// 82273fdc-e32a-18c3-3f78-827929dc23ea version 0.0 (MS-EVEN 2.1.1).
	EVENSyntax = SyntaxID{UUID: mustUUID("82273fdc-e32a-18c3-3f78-827929dc23ea")}
)

// String returns the syntax as "uuid vMajor.Minor", e.g.
// "12345678-1234-abcd-ef00-0123456789ab v1.0".
func (s SyntaxID) String() string {
	return s.UUID.String() + " v" + strconv.Itoa(int(s.Major)) + "." + strconv.Itoa(int(s.Minor))
}
