package wire

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"testing"
)

func testTransform() *Transform {
	tr := &Transform{OriginalMessageSize: 0x60, SessionID: 0x1122334455667788}
	for i := range tr.Signature {
		tr.Signature[i] = byte(0xa0 + i)
	}
	for i := range TransformNonceSizeGCM {
		tr.Nonce[i] = byte(0x10 + i)
	}
	return tr
}

func TestTransformEncodeFieldOffsets(t *testing.T) {
	tr := testTransform()
	b := tr.AppendTo([]byte("prefix"))[6:]
	if len(b) != TransformHeaderSize || tr.Size() != TransformHeaderSize || TransformHeaderSize != 52 {
		t.Fatalf("header %d bytes", len(b))
	}
	// MS-SMB2 2.2.41 offsets.
	if !bytes.Equal(b[0:4], []byte{0xfd, 'S', 'M', 'B'}) {
		t.Errorf("ProtocolId % x", b[0:4])
	}
	if !bytes.Equal(b[4:20], tr.Signature[:]) || !bytes.Equal(b[20:36], tr.Nonce[:]) {
		t.Error("Signature or Nonce misplaced")
	}
	if le32(b, 36) != 0x60 || le16(b, 40) != 0 || le16(b, 42) != 1 || le64(b, 44) != 0x1122334455667788 {
		t.Errorf("OriginalMessageSize %#x Reserved %d Flags %d SessionId %#x", le32(b, 36), le16(b, 40),
			le16(b, 42), le64(b, 44))
	}
	aad := TransformHeader(b).AAD()
	if len(aad) != 32 || cap(aad) != 32 || &aad[0] != &b[20] {
		t.Fatalf("AAD is not the 32-byte view of bytes 20..52")
	}
	if ProtocolSMB2Compressed != 0x424d53fc || binary.LittleEndian.Uint32([]byte{0xfc, 'S', 'M', 'B'}) != ProtocolSMB2Compressed {
		t.Fatal("ProtocolSMB2Compressed")
	}
}

// TestTransformAESGCMRoundTrip encrypts an SMB2 message the way MS-SMB2 3.1.4.3 describes
// (AES-128-GCM, 12-byte nonce, AAD = header bytes 20..52, tag in Signature) and decrypts it
// from the decoded view.
func TestTransformAESGCMRoundTrip(t *testing.T) {
	key := []byte("0123456789abcdef")
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	plain := testResponse(CmdEcho, []byte{4, 0, 0, 0})
	tr := testTransform()
	tr.Signature = [16]byte{}
	tr.OriginalMessageSize = uint32(len(plain))
	msg := tr.AppendTo(nil)
	hdr := TransformHeader(msg)
	sealed := aead.Seal(nil, tr.Nonce[:TransformNonceSizeGCM], plain, hdr.AAD())
	ct, tag := sealed[:len(plain)], sealed[len(plain):]
	copy(msg[4:20], tag)
	msg = append(msg, ct...)

	r := TransformHeader(msg)
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if r.OriginalMessageSize() != uint32(len(plain)) || r.SessionID() != tr.SessionID || r.Flags() != TransformFlagEncrypted ||
		r.Nonce() != tr.Nonce || !bytes.Equal(r.Ciphertext(), ct) {
		t.Fatal("decoded fields differ")
	}
	sig, nonce := r.Signature(), r.Nonce()
	opened, err := aead.Open(nil, nonce[:TransformNonceSizeGCM], append(append([]byte(nil), r.Ciphertext()...), sig[:]...), r.AAD())
	if err != nil || !bytes.Equal(opened, plain) {
		t.Fatalf("decrypt: %v", err)
	}
	// A flipped AAD bit (here the SessionId) fails authentication.
	msg[50] ^= 1
	if _, err := aead.Open(nil, nonce[:TransformNonceSizeGCM], append(append([]byte(nil), r.Ciphertext()...), sig[:]...), r.AAD()); err == nil {
		t.Fatal("AAD does not cover the SessionId")
	}
}

// testTransformMessage builds a transform header for a size-byte message followed by size bytes.
func testTransformMessage(size uint32, follow int) []byte {
	tr := testTransform()
	tr.OriginalMessageSize = size
	return append(tr.AppendTo(nil), make([]byte, follow)...)
}

func TestTransformHeaderValidate(t *testing.T) {
	msg := testTransformMessage(100, 100)
	expectTruncationsFail(t, msg, func(b []byte) error { return TransformHeader(b).Validate() })
	// Trailing bytes beyond OriginalMessageSize are ignored.
	long := TransformHeader(testTransformMessage(100, 150))
	if err := long.Validate(); err != nil || len(long.Ciphertext()) != 100 || cap(long.Ciphertext()) != 100 {
		t.Fatalf("trailing bytes: %v", err)
	}
	// A compressed-then-encrypted message may be as small as a COMPRESSION_TRANSFORM_HEADER.
	if err := TransformHeader(testTransformMessage(16, 16)).Validate(); err != nil {
		t.Fatalf("16-byte message: %v", err)
	}

	expectErr(t, TransformHeader(testTransformMessage(15, 15)).Validate(), ErrMalformed, "size 15")
	expectErr(t, TransformHeader(testTransformMessage(0, 0)).Validate(), ErrMalformed, "size 0")
	expectErr(t, TransformHeader(testTransformMessage(MaxTransformMessageSize+1, 64)).Validate(), ErrTooLarge, "size past cap")
	expectErr(t, TransformHeader(testTransformMessage(0xffffffff, 64)).Validate(), ErrTooLarge, "size 0xffffffff")
	expectErr(t, TransformHeader(testTransformMessage(101, 100)).Validate(), ErrShort, "size one past")
	for _, flags := range []uint16{0, 2, 0x8001} {
		m := testTransformMessage(64, 64)
		binary.LittleEndian.PutUint16(m[42:], flags)
		expectErr(t, TransformHeader(m).Validate(), ErrMalformed, "flags")
	}
	for _, p := range []uint32{ProtocolSMB2, ProtocolSMB1, ProtocolSMB2Compressed} {
		m := testTransformMessage(64, 64)
		binary.LittleEndian.PutUint32(m, p)
		expectErr(t, TransformHeader(m).Validate(), ErrBadProtocol, "protocol")
	}
}

func TestTransformAllocs(t *testing.T) {
	tr := testTransform()
	buf := make([]byte, 0, 128)
	msg := TransformHeader(testTransformMessage(96, 96))
	var sink int
	if n := testing.AllocsPerRun(200, func() {
		buf = tr.AppendTo(buf[:0])
		_ = tr.Size()
		if msg.Validate() != nil {
			panic("invalid")
		}
		sig, nonce := msg.Signature(), msg.Nonce()
		sink += len(msg.AAD()) + len(msg.Ciphertext()) + int(sig[0]) + int(nonce[0]) + int(msg.Flags()) +
			int(msg.SessionID()) + int(msg.OriginalMessageSize())
	}); n != 0 {
		t.Fatalf("transform header allocates %v times", n)
	}
	_ = sink
}

// Compression transform header builders.

func testUnchained(orig uint32, alg uint16, prefix, compressed []byte) []byte {
	le := binary.LittleEndian
	b := le.AppendUint32(nil, ProtocolSMB2Compressed)
	b = le.AppendUint32(b, orig)
	b = le.AppendUint16(b, alg)
	b = le.AppendUint16(b, CompressionTransformFlagNone)
	b = le.AppendUint32(b, uint32(len(prefix)))
	b = append(b, prefix...)
	return append(b, compressed...)
}

// testPayload is one chained payload; size is the OriginalPayloadSize written for algorithms
// that carry one.
type testPayload struct {
	alg   uint16
	flags uint16
	size  uint32
	data  []byte
}

func testChained(orig uint32, payloads ...testPayload) []byte {
	le := binary.LittleEndian
	b := le.AppendUint32(nil, ProtocolSMB2Compressed)
	b = le.AppendUint32(b, orig)
	for _, p := range payloads {
		b = le.AppendUint16(b, p.alg)
		b = le.AppendUint16(b, p.flags)
		switch p.alg {
		case CompressionNone, CompressionPatternV1:
			b = le.AppendUint32(b, uint32(len(p.data)))
		default:
			b = le.AppendUint32(b, uint32(len(p.data))+4)
			b = le.AppendUint32(b, p.size)
		}
		b = append(b, p.data...)
	}
	return b
}

func patternPayload(pattern byte, reps uint32) []byte {
	return binary.LittleEndian.AppendUint32([]byte{pattern, 0, 0, 0}, reps)
}

func testChainedMessage() []byte {
	// An uncompressed SMB2 header, an LZ77 body, then a run of 1000 zero bytes: 64+300+1000.
	return testChained(1364,
		testPayload{alg: CompressionNone, flags: CompressionTransformFlagChained, data: testResponse(CmdRead, nil)},
		testPayload{alg: CompressionLZ77, size: 300, data: []byte("lz77 bits")},
		testPayload{alg: CompressionPatternV1, data: patternPayload(0, 1000)},
	)
}

func TestCompressionTransformHeaderUnchained(t *testing.T) {
	prefix := testResponse(CmdRead, nil)[:64]
	c := CompressionTransformHeader(testUnchained(4096, CompressionLZ4, prefix, []byte("compressed")))
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Chained() || c.OriginalCompressedSegmentSize() != 4096 || c.CompressionAlgorithm() != CompressionLZ4 ||
		c.Offset() != 64 || !bytes.Equal(c.UncompressedPrefix(), prefix) || string(c.CompressedData()) != "compressed" {
		t.Fatalf("fields: %v %d %d %d", c.Chained(), c.OriginalCompressedSegmentSize(), c.CompressionAlgorithm(), c.Offset())
	}
	it := c.Payloads()
	var p CompressionPayload
	if it.Next(&p) {
		t.Fatal("unchained message yields payloads")
	}
	// Every cut into the header or the prefix fails; the compressed data has no length field.
	for n := 0; n < 16+len(prefix); n++ {
		if CompressionTransformHeader(append([]byte(nil), c[:n]...)).Validate() == nil {
			t.Fatalf("truncated to %d bytes accepted", n)
		}
	}
	whole := CompressionTransformHeader(testUnchained(64, CompressionLZNT1, nil, []byte{1, 2, 3}))
	if whole.Validate() != nil || whole.UncompressedPrefix() == nil || len(whole.UncompressedPrefix()) != 0 ||
		len(whole.CompressedData()) != 3 {
		t.Fatal("offset 0")
	}

	bad := testUnchained(4096, CompressionLZ4, prefix, nil)
	binary.LittleEndian.PutUint32(bad[12:], 65)
	expectErr(t, CompressionTransformHeader(bad).Validate(), ErrBadOffset, "offset one past")
	binary.LittleEndian.PutUint32(bad[12:], 0xffffffff)
	expectErr(t, CompressionTransformHeader(bad).Validate(), ErrBadOffset, "offset 0xffffffff")
	big := testUnchained(MaxTransformMessageSize+1, CompressionLZ4, nil, nil)
	expectErr(t, CompressionTransformHeader(big).Validate(), ErrTooLarge, "original size past cap")
	flags := testUnchained(64, CompressionLZ4, nil, nil)
	binary.LittleEndian.PutUint16(flags[10:], 2)
	expectErr(t, CompressionTransformHeader(flags).Validate(), ErrMalformed, "flags 2")
	proto := testUnchained(64, CompressionLZ4, nil, nil)
	proto[0] = 0xfe
	expectErr(t, CompressionTransformHeader(proto).Validate(), ErrBadProtocol, "protocol")
}

func TestCompressionTransformHeaderChained(t *testing.T) {
	c := CompressionTransformHeader(testChainedMessage())
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if !c.Chained() || c.OriginalCompressedSegmentSize() != 1364 || c.CompressionAlgorithm() != CompressionNone ||
		c.Offset() != 0 || c.UncompressedPrefix() != nil || c.CompressedData() != nil {
		t.Fatal("chained fields")
	}
	want := []CompressionPayload{
		{Algorithm: CompressionNone, Flags: CompressionTransformFlagChained, DecompressedSize: 64, Data: testResponse(CmdRead, nil)},
		{Algorithm: CompressionLZ77, DecompressedSize: 300, HasOriginalPayloadSize: true, Data: []byte("lz77 bits")},
		{Algorithm: CompressionPatternV1, DecompressedSize: 1000, Data: patternPayload(0, 1000)},
	}
	it := c.Payloads()
	var p CompressionPayload
	i := 0
	for ; it.Next(&p); i++ {
		w := want[i]
		if p.Algorithm != w.Algorithm || p.Flags != w.Flags || p.DecompressedSize != w.DecompressedSize ||
			p.HasOriginalPayloadSize != w.HasOriginalPayloadSize || !bytes.Equal(p.Data, w.Data) {
			t.Errorf("payload %d: %+v", i, p)
		}
	}
	if i != len(want) {
		t.Fatalf("%d payloads", i)
	}
	// Every truncation fails: the payloads no longer fit or no longer add up.
	expectTruncationsFail(t, c, func(b []byte) error { return CompressionTransformHeader(b).Validate() })
}

func TestCompressionTransformHeaderChainedHostile(t *testing.T) {
	first := testPayload{alg: CompressionNone, flags: CompressionTransformFlagChained, data: make([]byte, 64)}
	for _, c := range []struct {
		name   string
		msg    []byte
		target error
	}{
		{"sizes do not add up", testChained(65, first), ErrMalformed},
		{"sizes add up short", testChained(63, first), ErrMalformed},
		{"unknown algorithm", testChained(64, testPayload{alg: 9, flags: 1, data: make([]byte, 64)}), ErrMalformed},
		{"pattern payload of 7 bytes", testChained(64, first, testPayload{alg: CompressionPatternV1, data: make([]byte, 7)}), ErrMalformed},
		{"pattern payload of 9 bytes", testChained(64, first, testPayload{alg: CompressionPatternV1, data: make([]byte, 9)}), ErrMalformed},
		{"repetitions overflow the total", testChained(64, first, testPayload{alg: CompressionPatternV1, data: patternPayload(1, 0xffffffff)}), ErrMalformed},
		{"trailing partial payload header", append(testChained(64, first), 0, 0, 0), ErrShort},
	} {
		expectErr(t, CompressionTransformHeader(c.msg).Validate(), c.target, c.name)
	}
	// LZ77 Length below 4 cannot hold OriginalPayloadSize.
	m := testChained(64, first, testPayload{alg: CompressionLZ77, size: 0, data: nil})
	binary.LittleEndian.PutUint32(m[len(m)-8:], 3) // Length 3
	expectErr(t, CompressionTransformHeader(m[:len(m)-1]).Validate(), ErrMalformed, "lz77 length 3")
	// Length past the end.
	m = testChained(64, first)
	binary.LittleEndian.PutUint32(m[12:], 65)
	expectErr(t, CompressionTransformHeader(m).Validate(), ErrBadOffset, "length one past")
	binary.LittleEndian.PutUint32(m[12:], 0xffffffff)
	expectErr(t, CompressionTransformHeader(m).Validate(), ErrBadOffset, "length 0xffffffff")
	// The iterator stops, without panicking, on a chain that fails Validate.
	it := CompressionTransformHeader(m).Payloads()
	var p CompressionPayload
	if it.Next(&p) {
		t.Fatal("iterator returned a payload that does not fit")
	}
}

func TestCompressionTransformHeaderAllocs(t *testing.T) {
	c := CompressionTransformHeader(testChainedMessage())
	u := CompressionTransformHeader(testUnchained(4096, CompressionLZ4, make([]byte, 64), make([]byte, 100)))
	var sink int
	var p CompressionPayload
	if n := testing.AllocsPerRun(200, func() {
		if c.Validate() != nil || u.Validate() != nil {
			panic("invalid")
		}
		it := c.Payloads()
		for it.Next(&p) {
			sink += len(p.Data) + int(p.DecompressedSize)
		}
		sink += len(u.UncompressedPrefix()) + len(u.CompressedData()) + int(u.CompressionAlgorithm()) +
			int(u.OriginalCompressedSegmentSize())
	}); n != 0 {
		t.Fatalf("compression transform header decode allocates %v times", n)
	}
	_ = sink
}

func BenchmarkTransformHeader(b *testing.B) {
	tr := testTransform()
	buf := make([]byte, 0, 128)
	msg := TransformHeader(testTransformMessage(4096, 4096))
	b.ReportAllocs()
	for b.Loop() {
		buf = tr.AppendTo(buf[:0])
		if msg.Validate() != nil || len(msg.AAD()) != 32 {
			b.Fatal("invalid")
		}
	}
}

func BenchmarkCompressionTransformHeaderChained(b *testing.B) {
	c := CompressionTransformHeader(testChainedMessage())
	var p CompressionPayload
	b.ReportAllocs()
	for b.Loop() {
		if c.Validate() != nil {
			b.Fatal("invalid")
		}
		it := c.Payloads()
		for it.Next(&p) {
		}
	}
}

func FuzzTransformHeader(f *testing.F) {
	f.Add(testTransformMessage(64, 64))
	f.Add(testTransformMessage(16, 20))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := TransformHeader(data)
		if r.Validate() != nil {
			return
		}
		if uint64(len(r.Ciphertext())) != uint64(r.OriginalMessageSize()) || len(r.AAD()) != 32 ||
			r.OriginalMessageSize() > MaxTransformMessageSize {
			t.Fatal("inconsistent view")
		}
		_, _ = r.Signature(), r.Nonce()
		_ = r.SessionID() + uint64(r.Flags())
	})
}

func FuzzCompressionTransformHeader(f *testing.F) {
	f.Add(testChainedMessage())
	f.Add(testUnchained(4096, CompressionLZ4, make([]byte, 64), []byte("compressed")))
	f.Add(testChained(8, testPayload{alg: CompressionPatternV1, flags: 1, data: patternPayload(7, 8)}))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := CompressionTransformHeader(data)
		if c.Validate() != nil {
			return
		}
		_ = c.OriginalCompressedSegmentSize() + uint32(c.CompressionAlgorithm()) + c.Offset()
		if !c.Chained() {
			if 16+len(c.UncompressedPrefix())+len(c.CompressedData()) != len(data) {
				t.Fatal("unchained parts do not cover the message")
			}
			return
		}
		it := c.Payloads()
		var p CompressionPayload
		var total uint64
		for it.Next(&p) {
			total += uint64(p.DecompressedSize)
		}
		if total != uint64(c.OriginalCompressedSegmentSize()) {
			t.Fatalf("iterated payloads decompress to %d, header says %d", total, c.OriginalCompressedSegmentSize())
		}
	})
}
