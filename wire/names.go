package wire

import "fmt"

// Stable names for flag sets and algorithm ids, as the JSON output spells them. The ...Names
// functions append one name per set bit to dst (in ascending bit order) and return it, so a
// caller can reuse a slice; a bit without a name is appended as its hex value ("0x00000100",
// or "0x0100" for 16-bit fields) rather than dropped. The ...Name functions of ids return the
// hex value ("0x0006") for an unknown id.

type flagName struct {
	bit  uint32
	name string
}

// appendFlagNames appends the names of v's bits found in table, then each remaining bit as hex
// with the given number of digits.
func appendFlagNames(dst []string, v uint32, table []flagName, digits int) []string {
	for _, f := range table {
		if v&f.bit != 0 {
			dst = append(dst, f.name)
			v &^= f.bit
		}
	}
	for v != 0 {
		low := v & -v
		dst = append(dst, fmt.Sprintf("0x%0*x", digits, low))
		v &^= low
	}
	return dst
}

var capabilityNames = []flagName{
	{CapDFS, "DFS"},
	{CapLeasing, "LEASING"},
	{CapLargeMTU, "LARGE_MTU"},
	{CapMultiChannel, "MULTI_CHANNEL"},
	{CapPersistentHandles, "PERSISTENT_HANDLES"},
	{CapDirectoryLeasing, "DIRECTORY_LEASING"},
	{CapEncryption, "ENCRYPTION"},
	{CapNotifications, "NOTIFICATIONS"},
}

// CapabilityNames appends the names of the global capability bits (MS-SMB2 2.2.4).
func CapabilityNames(dst []string, caps uint32) []string {
	return appendFlagNames(dst, caps, capabilityNames, 8)
}

var securityModeNames = []flagName{
	{uint32(NegotiateSigningEnabled), "SIGNING_ENABLED"},
	{uint32(NegotiateSigningRequired), "SIGNING_REQUIRED"},
}

// SecurityModeNames appends the names of the SecurityMode bits (MS-SMB2 2.2.4).
func SecurityModeNames(dst []string, mode uint16) []string {
	return appendFlagNames(dst, uint32(mode), securityModeNames, 4)
}

var sessionFlagNames = []flagName{
	{uint32(SessionFlagIsGuest), "IS_GUEST"},
	{uint32(SessionFlagIsNull), "IS_NULL"},
	{uint32(SessionFlagEncryptData), "ENCRYPT_DATA"},
}

// SessionFlagNames appends the names of the SESSION_SETUP response SessionFlags (MS-SMB2 2.2.6).
func SessionFlagNames(dst []string, flags uint16) []string {
	return appendFlagNames(dst, uint32(flags), sessionFlagNames, 4)
}

// ShareTypeName returns "disk", "pipe" or "print" (MS-SMB2 2.2.10), or the value as "0x04".
func ShareTypeName(t uint8) string {
	switch t {
	case ShareTypeDisk:
		return "disk"
	case ShareTypePipe:
		return "pipe"
	case ShareTypePrint:
		return "print"
	}
	return fmt.Sprintf("0x%02x", t)
}

var cachingNames = [4]string{"MANUAL_CACHING", "AUTO_CACHING", "VDO_CACHING", "NO_CACHING"}

var shareFlagNames = []flagName{
	{ShareFlagDFS, "DFS"},
	{ShareFlagDFSRoot, "DFS_ROOT"},
	{ShareFlagRestrictExclusiveOpens, "RESTRICT_EXCLUSIVE_OPENS"},
	{ShareFlagForceSharedDelete, "FORCE_SHARED_DELETE"},
	{ShareFlagAllowNamespaceCaching, "ALLOW_NAMESPACE_CACHING"},
	{ShareFlagAccessBasedDirectoryEnum, "ACCESS_BASED_DIRECTORY_ENUM"},
	{ShareFlagForceLevelIIOplock, "FORCE_LEVELII_OPLOCK"},
	{ShareFlagEnableHashV1, "ENABLE_HASH_V1"},
	{ShareFlagEnableHashV2, "ENABLE_HASH_V2"},
	{ShareFlagEncryptData, "ENCRYPT_DATA"},
	{ShareFlagIdentityRemoting, "IDENTITY_REMOTING"},
	{ShareFlagCompressData, "COMPRESS_DATA"},
	{ShareFlagIsolatedTransport, "ISOLATED_TRANSPORT"},
}

// ShareFlagNames appends the names of the TREE_CONNECT ShareFlags (MS-SMB2 2.2.10). The caching
// policy always comes first, as one of MANUAL_CACHING (the value 0), AUTO_CACHING, VDO_CACHING
// or NO_CACHING.
func ShareFlagNames(dst []string, flags uint32) []string {
	dst = append(dst, cachingNames[(flags&ShareFlagCachingMask)>>4])
	return appendFlagNames(dst, flags&^ShareFlagCachingMask, shareFlagNames, 8)
}

var shareCapabilityNames = []flagName{
	{ShareCapDFS, "DFS"},
	{ShareCapContinuousAvailability, "CONTINUOUS_AVAILABILITY"},
	{ShareCapScaleout, "SCALEOUT"},
	{ShareCapCluster, "CLUSTER"},
	{ShareCapAsymmetric, "ASYMMETRIC"},
	{ShareCapRedirectToOwner, "REDIRECT_TO_OWNER"},
}

// ShareCapabilityNames appends the names of the TREE_CONNECT Capabilities (MS-SMB2 2.2.10).
func ShareCapabilityNames(dst []string, caps uint32) []string {
	return appendFlagNames(dst, caps, shareCapabilityNames, 8)
}

var fileAttributeNames = []flagName{
	{FileAttributeReadonly, "READONLY"},
	{FileAttributeHidden, "HIDDEN"},
	{FileAttributeSystem, "SYSTEM"},
	{FileAttributeDirectory, "DIRECTORY"},
	{FileAttributeArchive, "ARCHIVE"},
	{FileAttributeNormal, "NORMAL"},
	{FileAttributeTemporary, "TEMPORARY"},
	{FileAttributeSparseFile, "SPARSE_FILE"},
	{FileAttributeReparsePoint, "REPARSE_POINT"},
	{FileAttributeCompressed, "COMPRESSED"},
	{FileAttributeOffline, "OFFLINE"},
	{FileAttributeNotContentIndexed, "NOT_CONTENT_INDEXED"},
	{FileAttributeEncrypted, "ENCRYPTED"},
	{FileAttributeIntegrityStream, "INTEGRITY_STREAM"},
	{FileAttributeNoScrubData, "NO_SCRUB_DATA"},
	{FileAttributeRecallOnOpen, "RECALL_ON_OPEN"},
	{FileAttributePinned, "PINNED"},
	{FileAttributeUnpinned, "UNPINNED"},
	{FileAttributeRecallOnDataAccess, "RECALL_ON_DATA_ACCESS"},
}

// FileAttributeNames appends the names of the file attribute bits (MS-FSCC 2.6).
func FileAttributeNames(dst []string, attrs uint32) []string {
	return appendFlagNames(dst, attrs, fileAttributeNames, 8)
}

var accessMaskNames = []flagName{
	{AccessReadData, "FILE_READ_DATA"},
	{AccessWriteData, "FILE_WRITE_DATA"},
	{AccessAppendData, "FILE_APPEND_DATA"},
	{AccessReadEA, "FILE_READ_EA"},
	{AccessWriteEA, "FILE_WRITE_EA"},
	{AccessExecute, "FILE_EXECUTE"},
	{AccessDeleteChild, "FILE_DELETE_CHILD"},
	{AccessReadAttributes, "FILE_READ_ATTRIBUTES"},
	{AccessWriteAttributes, "FILE_WRITE_ATTRIBUTES"},
	{AccessDelete, "DELETE"},
	{AccessReadControl, "READ_CONTROL"},
	{AccessWriteDAC, "WRITE_DAC"},
	{AccessWriteOwner, "WRITE_OWNER"},
	{AccessSynchronize, "SYNCHRONIZE"},
	{AccessSystemSecurity, "ACCESS_SYSTEM_SECURITY"},
	{AccessMaximumAllowed, "MAXIMUM_ALLOWED"},
	{AccessGenericAll, "GENERIC_ALL"},
	{AccessGenericExecute, "GENERIC_EXECUTE"},
	{AccessGenericWrite, "GENERIC_WRITE"},
	{AccessGenericRead, "GENERIC_READ"},
}

// AccessMaskNames appends the names of the access mask bits (MS-SMB2 2.2.13.1), e.g. of a
// share's MaximalAccess.
func AccessMaskNames(dst []string, mask uint32) []string {
	return appendFlagNames(dst, mask, accessMaskNames, 8)
}

// idName returns names[id] when set, else the id as 0xXXXX.
func idName(names []string, id uint16) string {
	if int(id) < len(names) && names[id] != "" {
		return names[id]
	}
	return fmt.Sprintf("0x%04x", id)
}

var cipherNames = []string{"NONE", "AES-128-CCM", "AES-128-GCM", "AES-256-CCM", "AES-256-GCM"}

// CipherName returns the cipher's name (MS-SMB2 2.2.3.1.2): "AES-128-CCM", "AES-128-GCM",
// "AES-256-CCM", "AES-256-GCM", or "NONE" for 0 (no common cipher).
func CipherName(id uint16) string { return idName(cipherNames, id) }

var signingNames = []string{"HMAC-SHA256", "AES-CMAC", "AES-GMAC"}

// SigningAlgorithmName returns the signing algorithm's name (MS-SMB2 2.2.3.1.7):
// "HMAC-SHA256", "AES-CMAC" or "AES-GMAC".
func SigningAlgorithmName(id uint16) string { return idName(signingNames, id) }

var hashNames = []string{1: "SHA-512"}

// HashAlgorithmName returns the preauth integrity hash's name (MS-SMB2 2.2.3.1.1): "SHA-512".
func HashAlgorithmName(id uint16) string { return idName(hashNames, id) }

var compressionNames = []string{"NONE", "LZNT1", "LZ77", "LZ77+Huffman", "Pattern_V1", "LZ4"}

// CompressionAlgorithmName returns the compression algorithm's name (MS-SMB2 2.2.3.1.3):
// "NONE", "LZNT1", "LZ77", "LZ77+Huffman", "Pattern_V1" or "LZ4".
func CompressionAlgorithmName(id uint16) string { return idName(compressionNames, id) }

var negotiateContextNames = []string{
	NegotiateContextPreauthIntegrity: "PREAUTH_INTEGRITY_CAPABILITIES",
	NegotiateContextEncryption:       "ENCRYPTION_CAPABILITIES",
	NegotiateContextCompression:      "COMPRESSION_CAPABILITIES",
	NegotiateContextNetname:          "NETNAME_NEGOTIATE_CONTEXT_ID",
	NegotiateContextTransport:        "TRANSPORT_CAPABILITIES",
	NegotiateContextRDMATransform:    "RDMA_TRANSFORM_CAPABILITIES",
	NegotiateContextSigning:          "SIGNING_CAPABILITIES",
}

// NegotiateContextTypeName returns the negotiate context type's name (MS-SMB2 2.2.3.1), e.g.
// "PREAUTH_INTEGRITY_CAPABILITIES"; Samba's 0x0100 is "POSIX_EXTENSIONS".
func NegotiateContextTypeName(t uint16) string {
	if t == NegotiateContextPOSIX {
		return "POSIX_EXTENSIONS"
	}
	return idName(negotiateContextNames, t)
}
