package smb1

import (
	"encoding/binary"
	"fmt"

	"github.com/smbsweep/smbsweep/wire"
)

// TREE_CONNECT_ANDX request Flags (MS-CIFS 2.2.4.55.1; MS-SMB 2.2.4.7.1).
const (
	TreeConnectDisconnectTID      uint16 = 0x0001 // TREE_CONNECT_ANDX_DISCONNECT_TID
	TreeConnectExtendedSignatures uint16 = 0x0004 // TREE_CONNECT_ANDX_EXTENDED_SIGNATURES
	TreeConnectExtendedResponse   uint16 = 0x0008 // TREE_CONNECT_ANDX_EXTENDED_RESPONSE
)

// OptionalSupport bits of the TREE_CONNECT_ANDX reply (MS-CIFS 2.2.4.55.2; MS-SMB 2.2.4.7.2).
const (
	SupportSearchBits         uint16 = 0x0001 // SMB_SUPPORT_SEARCH_BITS
	SupportShareInDFS         uint16 = 0x0002 // SMB_SHARE_IS_IN_DFS
	SupportCSCMask            uint16 = 0x000c // SMB_CSC_MASK (caching policy)
	SupportUniqueFileName     uint16 = 0x0010 // SMB_UNIQUE_FILE_NAME
	SupportExtendedSignatures uint16 = 0x0020 // SMB_EXTENDED_SIGNATURES
)

// ServiceAny is the Service string that matches any share type (MS-CIFS 2.2.4.55.1).
const ServiceAny = "?????"

const (
	wcTreeConnect         = 4
	wcTreeConnectReply    = 3 // MS-CIFS 2.2.4.55.2
	wcTreeConnectReplyExt = 7 // MS-SMB 2.2.4.7.2
)

// TreeConnectRequest is SMB_COM_TREE_CONNECT_ANDX (MS-CIFS 2.2.4.55.1): Path is the UNC path
// of the share (`\\server\share`), Service the share type to match (ServiceAny; always an
// OEM string). With user-level security the password is a single NUL byte, which is what this
// encoder sends. Path is UTF-16LE when Unicode (set it with the header's Flags2Unicode).
type TreeConnectRequest struct {
	Flags   uint16
	Path    string
	Service string
	Unicode bool
}

// bodyBytesOff is the body offset of SMB_Data.Bytes (WordCount, 4 words, ByteCount).
const treeBytesOff = 1 + 2*wcTreeConnect + 2

func (r *TreeConnectRequest) bytesSize() int {
	n := 1 // Password: one NUL
	if r.Unicode && (HeaderSize+treeBytesOff+n)%2 == 1 {
		n++
	}
	return n + stringSize(r.Path, r.Unicode) + len(r.Service) + 1
}

// Size returns the encoded size of the body.
func (r *TreeConnectRequest) Size() int { return treeBytesOff + r.bytesSize() }

// Validate reports whether the request fits ByteCount and Service is OEM (ASCII, no NUL).
func (r *TreeConnectRequest) Validate() error {
	if n := r.bytesSize(); n > maxByteCount {
		return fmt.Errorf("tree connect request: %d bytes: %w", n, wire.ErrTooLarge)
	}
	for i := 0; i < len(r.Service); i++ {
		if c := r.Service[i]; c == 0 || c >= 0x80 {
			return fmt.Errorf("tree connect request: service %q not ASCII: %w", r.Service, wire.ErrMalformed)
		}
	}
	return nil
}

// AppendTo appends the body (after a Header with CommandTreeConnectAndX).
func (r *TreeConnectRequest) AppendTo(dst []byte) []byte {
	le := binary.LittleEndian
	dst = append(dst, wcTreeConnect, CommandNoAndX, 0, 0, 0)
	dst = le.AppendUint16(dst, r.Flags)
	dst = le.AppendUint16(dst, 1) // PasswordLength
	dst = le.AppendUint16(dst, uint16(r.bytesSize()))
	dst = append(dst, 0) // Password
	if r.Unicode && (HeaderSize+treeBytesOff+1)%2 == 1 {
		dst = append(dst, 0)
	}
	dst = appendString(dst, r.Path, r.Unicode)
	return appendString(dst, r.Service, false)
}

// TreeConnectResponse is the SMB_COM_TREE_CONNECT_ANDX reply: WordCount 3 (MS-CIFS
// 2.2.4.55.2: OptionalSupport) or 7, the extended form (MS-SMB 2.2.4.7.2: also
// MaximalAccessRights and GuestMaximalAccessRights), then Service (OEM) and NativeFileSystem
// (UTF-16LE when the reply has Flags2Unicode). The tree ID is the header's TID. An error reply
// has WordCount 0.
type TreeConnectResponse []byte

// Validate checks the header, the word count (3, 7, or an error reply), ByteCount and AndX.
func (r TreeConnectResponse) Validate() error {
	const what = "tree connect response"
	g := Reply(r)
	if err := g.validateForm(CommandTreeConnectAndX, wcTreeConnectReply, what); err != nil {
		return err
	}
	if g.isError(wcTreeConnectReply) {
		return g.checkAndX(what)
	}
	if wc := g.WordCount(); wc != wcTreeConnectReply && wc != wcTreeConnectReplyExt {
		return fmt.Errorf("%s: word count %d: %w", what, wc, wire.ErrBadStructureSize)
	}
	return g.checkAndX(what)
}

// Reply returns the generic view.
func (r TreeConnectResponse) Reply() Reply { return Reply(r) }

// Err returns nil for success, else the status.
func (r TreeConnectResponse) Err() error { return Reply(r).Err() }

// TID returns the tree ID (header TID).
func (r TreeConnectResponse) TID() uint16 { return Reply(r).TID() }

// OptionalSupport returns the OptionalSupport bits (Support*).
func (r TreeConnectResponse) OptionalSupport() uint16 { return Reply(r).word16(4) }

// Extended reports whether the reply has the MS-SMB extended form with access masks.
func (r TreeConnectResponse) Extended() bool { return Reply(r).WordCount() == wcTreeConnectReplyExt }

// MaximalAccess returns MaximalAccessRights (MS-SMB 2.2.4.7.2) and whether the reply has it.
func (r TreeConnectResponse) MaximalAccess() (uint32, bool) {
	return Reply(r).word32(6), r.Extended()
}

// GuestMaximalAccess returns GuestMaximalAccessRights and whether the reply has it.
func (r TreeConnectResponse) GuestMaximalAccess() (uint32, bool) {
	return Reply(r).word32(10), r.Extended()
}

func (r TreeConnectResponse) strings() (service, fs []byte) {
	g := Reply(r)
	if g.WordCount() < wcTreeConnectReply {
		return nil, nil
	}
	off, end := g.bytesOff(), g.bytesOff()+len(g.Bytes())
	service, off = stringAt(r, off, end, false)
	fs, _ = stringAt(r, off, end, g.Unicode())
	return service, fs
}

// Service returns the share type string ("A:" disk, "IPC", "LPT1:", "COMM"), OEM, a view.
func (r TreeConnectResponse) Service() []byte { s, _ := r.strings(); return s }

// NativeFileSystem returns the raw NativeFileSystem string ("NTFS"; empty for IPC$), a view.
func (r TreeConnectResponse) NativeFileSystem() []byte { _, f := r.strings(); return f }

// AppendNativeFileSystem appends NativeFileSystem as UTF-8.
func (r TreeConnectResponse) AppendNativeFileSystem(dst []byte) []byte {
	return AppendString(dst, r.NativeFileSystem(), Reply(r).Unicode())
}
