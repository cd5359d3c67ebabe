package replay

import (
	"bytes"
	"encoding/binary"
)

// The SMBGhost emulation edits two of Samba's captured replies into what a Windows 10 version
// 1903 host (build 18362, the first with SMB 3.1.1 compression) answers to smbsweep's requests.
// Samba itself cannot be vulnerable: it never negotiates compression. Sources of each emulated
// byte:
//
//   - COMPRESSION_CAPABILITIES negotiate context (MS-SMB2 2.2.4.1.3, layout as in 2.2.3.1.3):
//     ContextType 0x0003, DataLength, Reserved (4 bytes of 0), CompressionAlgorithmCount,
//     Padding (2 bytes of 0), Flags 0 (SMB2_COMPRESSION_CAPABILITIES_FLAG_NONE), then the
//     algorithms. The server returns the algorithms it shares with the client in the client's
//     order (MS-SMB2 3.3.5.4); smbsweep offers LZNT1, LZ77, LZ77+Huffman, Pattern_V1, and
//     1903 implements the first three (Pattern_V1 came with later releases: MS-SMB2 product
//     behavior notes for 2.2.3.1.3), so the context lists 0x0001, 0x0002, 0x0003. The public
//     SMBGhost scanners (ollypwn/SMBGhost scanner.py, March 2020, and the nmap script
//     cve-2020-0796.nse built on it, which prints "3.11 ... LZNT1 compression algorithm") decide
//     from exactly this: dialect 0x0311 and a compression context in the NEGOTIATE reply.
//     Negotiate contexts start 8-byte aligned (MS-SMB2 2.2.4), hence the padding before it;
//     NegotiateContextCount (offset 6 of the body) goes up by one.
//   - NTLM VERSION (MS-NLMP 2.2.2.10), at offset 48 of the CHALLENGE message:
//     ProductMajorVersion 10 (WINDOWS_MAJOR_VERSION_10), ProductMinorVersion 0
//     (WINDOWS_MINOR_VERSION_0), ProductBuild 18362 (Windows 10 1903 in Microsoft's Windows 10
//     release information), Reserved 0, NTLMRevisionCurrent 0x0F (NTLMSSP_REVISION_W2K3) —
//     Samba's capture already has the revision and the NEGOTIATE_VERSION flag, so only the
//     first four bytes change.

// SMBGhostBuild is the NTLM build the SMBGhost emulation reports (Windows 10 1903).
const SMBGhostBuild = 18362

// smbghostNegotiate returns a copy of the captured 3.1.1 NEGOTIATE reply (SMB2 header and
// body, its negotiate contexts last) with a COMPRESSION_CAPABILITIES context appended.
func smbghostNegotiate(capture []byte) []byte {
	le := binary.LittleEndian
	out := bytes.Clone(capture)
	for len(out)%8 != 0 {
		out = append(out, 0)
	}
	algs := []uint16{0x0001, 0x0002, 0x0003} // LZNT1, LZ77, LZ77+Huffman
	out = le.AppendUint16(out, 0x0003)       // SMB2_COMPRESSION_CAPABILITIES
	out = le.AppendUint16(out, uint16(8+2*len(algs)))
	out = le.AppendUint32(out, 0)                 // Reserved
	out = le.AppendUint16(out, uint16(len(algs))) // CompressionAlgorithmCount
	out = le.AppendUint16(out, 0)                 // Padding
	out = le.AppendUint32(out, 0)                 // Flags: NONE
	for _, a := range algs {
		out = le.AppendUint16(out, a)
	}
	body := out[hdrSize:]
	le.PutUint16(body[6:], le.Uint16(body[6:])+1) // NegotiateContextCount
	return out
}

// smbghostChallenge returns a copy of the captured SESSION_SETUP reply whose NTLM CHALLENGE
// reports version 10.0.18362.
func smbghostChallenge(capture []byte) []byte {
	out := bytes.Clone(capture)
	i := bytes.Index(out, []byte("NTLMSSP\x00\x02\x00\x00\x00"))
	if i < 0 || len(out) < i+56 {
		panic("replay: the CHALLENGE capture has no NTLMSSP CHALLENGE with a Version field")
	}
	v := out[i+48:]
	v[0], v[1] = 10, 0
	binary.LittleEndian.PutUint16(v[2:], SMBGhostBuild)
	return out
}
