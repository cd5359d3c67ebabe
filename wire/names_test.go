package wire

import (
	"slices"
	"testing"
)

func TestFlagNames(t *testing.T) {
	cases := []struct {
		name string
		got  []string
		want []string
	}{
		{"capabilities all", CapabilityNames(nil, 0xff), []string{"DFS", "LEASING", "LARGE_MTU", "MULTI_CHANNEL",
			"PERSISTENT_HANDLES", "DIRECTORY_LEASING", "ENCRYPTION", "NOTIFICATIONS"}},
		{"capabilities unknown bits kept", CapabilityNames(nil, CapLeasing|0x100|0x80000000),
			[]string{"LEASING", "0x00000100", "0x80000000"}},
		{"capabilities none", CapabilityNames(nil, 0), nil},
		{"security mode", SecurityModeNames(nil, 3), []string{"SIGNING_ENABLED", "SIGNING_REQUIRED"}},
		{"security mode unknown", SecurityModeNames(nil, 0x8001), []string{"SIGNING_ENABLED", "0x8000"}},
		{"session flags", SessionFlagNames(nil, 7), []string{"IS_GUEST", "IS_NULL", "ENCRYPT_DATA"}},
		{"session flags unknown", SessionFlagNames(nil, 0x10), []string{"0x0010"}},
		{"share flags manual", ShareFlagNames(nil, 0), []string{"MANUAL_CACHING"}},
		{"share flags", ShareFlagNames(nil, ShareFlagDFS|ShareFlagDFSRoot|ShareFlagAutoCaching|ShareFlagEncryptData|ShareFlagIsolatedTransport),
			[]string{"AUTO_CACHING", "DFS", "DFS_ROOT", "ENCRYPT_DATA", "ISOLATED_TRANSPORT"}},
		{"share flags vdo", ShareFlagNames(nil, ShareFlagVDOCaching), []string{"VDO_CACHING"}},
		{"share flags no caching + all", ShareFlagNames(nil, 0x0034ff33), []string{"NO_CACHING", "DFS", "DFS_ROOT",
			"RESTRICT_EXCLUSIVE_OPENS", "FORCE_SHARED_DELETE", "ALLOW_NAMESPACE_CACHING", "ACCESS_BASED_DIRECTORY_ENUM",
			"FORCE_LEVELII_OPLOCK", "ENABLE_HASH_V1", "ENABLE_HASH_V2", "ENCRYPT_DATA", "IDENTITY_REMOTING",
			"COMPRESS_DATA", "ISOLATED_TRANSPORT"}},
		{"share flags unknown", ShareFlagNames(nil, 0x4), []string{"MANUAL_CACHING", "0x00000004"}},
		{"share caps", ShareCapabilityNames(nil, 0x1f8), []string{"DFS", "CONTINUOUS_AVAILABILITY", "SCALEOUT",
			"CLUSTER", "ASYMMETRIC", "REDIRECT_TO_OWNER"}},
		{"share caps unknown", ShareCapabilityNames(nil, 1), []string{"0x00000001"}},
		{"file attributes", FileAttributeNames(nil, FileAttributeDirectory|FileAttributeArchive|FileAttributeNoScrubData),
			[]string{"DIRECTORY", "ARCHIVE", "NO_SCRUB_DATA"}},
		{"file attributes unknown", FileAttributeNames(nil, 0x8|0x40), []string{"0x00000008", "0x00000040"}},
		{"file attributes all named", FileAttributeNames(nil, 0x0000ffb7), []string{"READONLY", "HIDDEN", "SYSTEM",
			"DIRECTORY", "ARCHIVE", "NORMAL", "TEMPORARY", "SPARSE_FILE", "REPARSE_POINT", "COMPRESSED", "OFFLINE",
			"NOT_CONTENT_INDEXED", "ENCRYPTED", "INTEGRITY_STREAM"}},
		{"access mask", AccessMaskNames(nil, 0x001200a9), []string{"FILE_READ_DATA", "FILE_READ_EA", "FILE_EXECUTE",
			"FILE_READ_ATTRIBUTES", "READ_CONTROL", "SYNCHRONIZE"}},
		{"access mask generic", AccessMaskNames(nil, 0x80000000|0x02000000|0x00200000),
			[]string{"MAXIMUM_ALLOWED", "GENERIC_READ", "0x00200000"}},
	}
	for _, c := range cases {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
}

func TestFlagNamesAppend(t *testing.T) {
	dst := []string{"keep"}
	dst = CapabilityNames(dst, CapDFS)
	if !slices.Equal(dst, []string{"keep", "DFS"}) {
		t.Fatalf("append into caller slice: %q", dst)
	}
	buf := make([]string, 0, 32)
	if n := testing.AllocsPerRun(100, func() {
		buf = CapabilityNames(buf[:0], 0x7f)
		buf = ShareFlagNames(buf, 0x8830)
		buf = FileAttributeNames(buf, 0x20)
	}); n != 0 {
		t.Fatalf("names of known bits allocate %v times", n)
	}
}

func TestIDNames(t *testing.T) {
	cases := []struct{ got, want string }{
		{ShareTypeName(1), "disk"}, {ShareTypeName(2), "pipe"}, {ShareTypeName(3), "print"}, {ShareTypeName(9), "0x09"},
		{CipherName(CipherAES128CCM), "AES-128-CCM"}, {CipherName(CipherAES128GCM), "AES-128-GCM"},
		{CipherName(CipherAES256CCM), "AES-256-CCM"}, {CipherName(CipherAES256GCM), "AES-256-GCM"},
		{CipherName(0), "NONE"}, {CipherName(5), "0x0005"},
		{SigningAlgorithmName(0), "HMAC-SHA256"}, {SigningAlgorithmName(1), "AES-CMAC"},
		{SigningAlgorithmName(2), "AES-GMAC"}, {SigningAlgorithmName(3), "0x0003"},
		{HashAlgorithmName(1), "SHA-512"}, {HashAlgorithmName(0), "0x0000"}, {HashAlgorithmName(2), "0x0002"},
		{CompressionAlgorithmName(0), "NONE"}, {CompressionAlgorithmName(1), "LZNT1"},
		{CompressionAlgorithmName(2), "LZ77"}, {CompressionAlgorithmName(3), "LZ77+Huffman"},
		{CompressionAlgorithmName(4), "Pattern_V1"}, {CompressionAlgorithmName(5), "LZ4"},
		{CompressionAlgorithmName(0xffff), "0xffff"},
		{NegotiateContextTypeName(1), "PREAUTH_INTEGRITY_CAPABILITIES"},
		{NegotiateContextTypeName(8), "SIGNING_CAPABILITIES"}, {NegotiateContextTypeName(4), "0x0004"},
		{NegotiateContextTypeName(0x100), "POSIX_EXTENSIONS"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func BenchmarkCapabilityNames(b *testing.B) {
	buf := make([]string, 0, 16)
	b.ReportAllocs()
	for b.Loop() {
		buf = CapabilityNames(buf[:0], 0x7f)
	}
}
