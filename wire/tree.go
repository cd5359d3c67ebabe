package wire

import (
	"encoding/binary"
)

// TREE_CONNECT request flags (MS-SMB2 2.2.9; SMB 3.1.1 only, Reserved before).
const (
	TreeConnectFlagClusterReconnect uint16 = 0x0001
	TreeConnectFlagRedirectToOwner  uint16 = 0x0002
	TreeConnectFlagExtensionPresent uint16 = 0x0004
)

// Share types (MS-SMB2 2.2.10).
const (
	ShareTypeDisk  uint8 = 0x01
	ShareTypePipe  uint8 = 0x02
	ShareTypePrint uint8 = 0x03
)

// Share flags (MS-SMB2 2.2.10). The caching policy is the two-bit field ShareFlagCachingMask,
// whose value 0 is manual caching.
const (
	ShareFlagDFS                      uint32 = 0x00000001
	ShareFlagDFSRoot                  uint32 = 0x00000002
	ShareFlagManualCaching            uint32 = 0x00000000
	ShareFlagAutoCaching              uint32 = 0x00000010
	ShareFlagVDOCaching               uint32 = 0x00000020
	ShareFlagNoCaching                uint32 = 0x00000030
	ShareFlagCachingMask              uint32 = 0x00000030
	ShareFlagRestrictExclusiveOpens   uint32 = 0x00000100
	ShareFlagForceSharedDelete        uint32 = 0x00000200
	ShareFlagAllowNamespaceCaching    uint32 = 0x00000400
	ShareFlagAccessBasedDirectoryEnum uint32 = 0x00000800
	ShareFlagForceLevelIIOplock       uint32 = 0x00001000
	ShareFlagEnableHashV1             uint32 = 0x00002000
	ShareFlagEnableHashV2             uint32 = 0x00004000
	ShareFlagEncryptData              uint32 = 0x00008000
	ShareFlagIdentityRemoting         uint32 = 0x00040000
	ShareFlagCompressData             uint32 = 0x00100000
	ShareFlagIsolatedTransport        uint32 = 0x00200000
)

// Share capabilities (MS-SMB2 2.2.10).
const (
	ShareCapDFS                    uint32 = 0x00000008
	ShareCapContinuousAvailability uint32 = 0x00000010
	ShareCapScaleout               uint32 = 0x00000020
	ShareCapCluster                uint32 = 0x00000040
	ShareCapAsymmetric             uint32 = 0x00000080
	ShareCapRedirectToOwner        uint32 = 0x00000100
)

// treeConnectRequestFixed is the fixed part of the TREE_CONNECT request body; the path follows
// at header-relative offset 64+8.
const treeConnectRequestFixed = 8

// MaxTreePathBytes caps the UTF-16 size of a TREE_CONNECT path (its length field is 16 bits);
// a longer path is cut at a character boundary.
const MaxTreePathBytes = 0xfffe

// TreeConnectRequest is the SMB2 TREE_CONNECT request (MS-SMB2 2.2.9) without the 3.1.1 tree
// connect extension. Path is the share's UNC path, e.g. `\\server\share`.
type TreeConnectRequest struct {
	Flags uint16 // TreeConnectFlag* (3.1.1 only; 0 otherwise)
	Path  string
}

// Size returns the encoded size of the request body (at least one Buffer byte, since
// StructureSize 9 counts one).
func (r *TreeConnectRequest) Size() int {
	return treeConnectRequestFixed + max(smb2UTF16LenCapped(r.Path, MaxTreePathBytes), 1)
}

// AppendTo appends the request body to dst; it must directly follow the SMB2 header.
func (r *TreeConnectRequest) AppendTo(dst []byte) []byte {
	le := binary.LittleEndian
	n := smb2UTF16LenCapped(r.Path, MaxTreePathBytes)
	dst = le.AppendUint16(dst, 9)
	dst = le.AppendUint16(dst, r.Flags)
	dst = le.AppendUint16(dst, HeaderSize+treeConnectRequestFixed)
	dst = le.AppendUint16(dst, uint16(n))
	if n == 0 {
		return append(dst, 0)
	}
	return smb2AppendUTF16Capped(dst, r.Path, MaxTreePathBytes)
}

// treeConnectResponseSize is the TREE_CONNECT response body size.
const treeConnectResponseSize = 16

// TreeConnectResponse is the SMB2 TREE_CONNECT response (MS-SMB2 2.2.10): a view over the whole
// message. The TreeID is in the header. Validate does not look at the header's Status.
type TreeConnectResponse []byte

// Validate checks the header and the body's size.
func (r TreeConnectResponse) Validate() error {
	return validateSMB2Response(r, CmdTreeConnect, treeConnectResponseSize, treeConnectResponseSize, "tree connect response")
}

// ShareType returns ShareTypeDisk, ShareTypePipe or ShareTypePrint (or what the server sent).
func (r TreeConnectResponse) ShareType() uint8 { return r[HeaderSize+2] }

// ShareFlags returns the ShareFlag* bits.
func (r TreeConnectResponse) ShareFlags() uint32 {
	return binary.LittleEndian.Uint32(r[HeaderSize+4:])
}

// Capabilities returns the ShareCap* bits.
func (r TreeConnectResponse) Capabilities() uint32 {
	return binary.LittleEndian.Uint32(r[HeaderSize+8:])
}

// MaximalAccess returns the access mask the session is granted on the share (Access* bits).
func (r TreeConnectResponse) MaximalAccess() uint32 {
	return binary.LittleEndian.Uint32(r[HeaderSize+12:])
}

// TreeDisconnectRequest is the SMB2 TREE_DISCONNECT request (MS-SMB2 2.2.11); the tree is named
// by the header's TreeID.
type TreeDisconnectRequest struct{}

// Size returns the encoded size of the request body.
func (TreeDisconnectRequest) Size() int { return 4 }

// AppendTo appends the request body to dst.
func (TreeDisconnectRequest) AppendTo(dst []byte) []byte {
	return append(dst, 4, 0, 0, 0) // StructureSize 4, Reserved
}

// TreeDisconnectResponse is the SMB2 TREE_DISCONNECT response (MS-SMB2 2.2.12).
type TreeDisconnectResponse []byte

// Validate checks the header and the body's size.
func (r TreeDisconnectResponse) Validate() error {
	return validateSMB2Response(r, CmdTreeDisconnect, 4, 4, "tree disconnect response")
}
