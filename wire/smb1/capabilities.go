package smb1

import "math/bits"

// Server capability bits of the NT LAN Manager NEGOTIATE response (MS-CIFS 2.2.4.52.2, with the
// additions and reassignments of MS-SMB 2.2.4.5.2). Bits 0x0400 and 0x0800 (bulk transfer and
// compressed data in older CIFS documents) are unused by MS-SMB and render as hex.
const (
	CapRawMode           uint32 = 0x00000001 // CAP_RAW_MODE
	CapMPXMode           uint32 = 0x00000002 // CAP_MPX_MODE
	CapUnicode           uint32 = 0x00000004 // CAP_UNICODE
	CapLargeFiles        uint32 = 0x00000008 // CAP_LARGE_FILES
	CapNTSMBs            uint32 = 0x00000010 // CAP_NT_SMBS
	CapRPCRemoteAPIs     uint32 = 0x00000020 // CAP_RPC_REMOTE_APIS
	CapStatus32          uint32 = 0x00000040 // CAP_STATUS32
	CapLevelIIOplocks    uint32 = 0x00000080 // CAP_LEVEL_II_OPLOCKS
	CapLockAndRead       uint32 = 0x00000100 // CAP_LOCK_AND_READ
	CapNTFind            uint32 = 0x00000200 // CAP_NT_FIND
	CapDFS               uint32 = 0x00001000 // CAP_DFS
	CapInfoLevelPassthru uint32 = 0x00002000 // CAP_INFOLEVEL_PASSTHRU
	CapLargeReadX        uint32 = 0x00004000 // CAP_LARGE_READX
	CapLargeWriteX       uint32 = 0x00008000 // CAP_LARGE_WRITEX
	CapLWIO              uint32 = 0x00010000 // CAP_LWIO
	CapUnix              uint32 = 0x00800000 // CAP_UNIX
	CapCompressedData    uint32 = 0x02000000 // CAP_COMPRESSED_DATA
	CapDynamicReauth     uint32 = 0x20000000 // CAP_DYNAMIC_REAUTH
	CapPersistentHandles uint32 = 0x40000000 // CAP_PERSISTENT_HANDLES
	CapExtendedSecurity  uint32 = 0x80000000 // CAP_EXTENDED_SECURITY
)

// capNames holds, per bit number, the spec name of the capability or its value in hex, so
// naming never formats (or allocates) at run time.
var capNames = [32]string{
	"CAP_RAW_MODE", "CAP_MPX_MODE", "CAP_UNICODE", "CAP_LARGE_FILES",
	"CAP_NT_SMBS", "CAP_RPC_REMOTE_APIS", "CAP_STATUS32", "CAP_LEVEL_II_OPLOCKS",
	"CAP_LOCK_AND_READ", "CAP_NT_FIND", "0x00000400", "0x00000800",
	"CAP_DFS", "CAP_INFOLEVEL_PASSTHRU", "CAP_LARGE_READX", "CAP_LARGE_WRITEX",
	"CAP_LWIO", "0x00020000", "0x00040000", "0x00080000",
	"0x00100000", "0x00200000", "0x00400000", "CAP_UNIX",
	"0x01000000", "CAP_COMPRESSED_DATA", "0x04000000", "0x08000000",
	"0x10000000", "CAP_DYNAMIC_REAUTH", "CAP_PERSISTENT_HANDLES", "CAP_EXTENDED_SECURITY",
}

// CapabilityName returns the spec name of a single capability bit, or the bit as "0x%08x"
// when it has none. cap must have exactly one bit set; otherwise the result is "".
func CapabilityName(c uint32) string {
	if c == 0 || c&(c-1) != 0 {
		return ""
	}
	return capNames[bits.TrailingZeros32(c)]
}

// AppendCapabilityNames appends the name of every bit set in caps, lowest bit first; bits
// without a name appear as "0x%08x". It allocates only if dst has to grow.
func AppendCapabilityNames(dst []string, caps uint32) []string {
	for caps != 0 {
		i := bits.TrailingZeros32(caps)
		dst = append(dst, capNames[i])
		caps &^= 1 << i
	}
	return dst
}
