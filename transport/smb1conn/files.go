package smb1conn

import (
	"context"
	"errors"
	"fmt"

	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/smb1"
)

// Tree is a connected share.
type Tree struct {
	TID             uint16
	Service         string // "A:" (disk), "IPC", "LPT1:", "COMM"
	NativeFS        string
	OptionalSupport uint16
	// MaximalAccess and GuestMaximalAccess come from the extended reply (MS-SMB
	// 2.2.4.7.2); HasMaximalAccess says whether the server sent them.
	MaximalAccess, GuestMaximalAccess uint32
	HasMaximalAccess                  bool
}

// TreeConnect connects share ("IPC$", "public") as `\\ServerName\share`, asking for the
// extended reply with the maximal access rights (MS-SMB 2.2.4.7.1).
func (c *Conn) TreeConnect(ctx context.Context, share string) (Tree, error) {
	op := `smb1 tree connect \\` + c.opts.ServerName + `\` + share
	req := smb1.TreeConnectRequest{Flags: smb1.TreeConnectExtendedResponse,
		Path: `\\` + c.opts.ServerName + `\` + share, Service: smb1.ServiceAny, Unicode: c.neg.Unicode}
	if err := req.Validate(); err != nil {
		return Tree{}, fmt.Errorf("%s: %w", op, err)
	}
	msg, err := c.call(ctx, smb1.CommandTreeConnectAndX, 0, &req)
	if err != nil {
		return Tree{}, fmt.Errorf("%s: %w", op, err)
	}
	r := smb1.TreeConnectResponse(msg)
	if err := r.Validate(); err != nil {
		return Tree{}, &transport.ProtocolError{Op: op, Err: err}
	}
	if err := r.Err(); err != nil {
		return Tree{}, fmt.Errorf("%s: %w", op, err)
	}
	t := Tree{TID: r.TID(), Service: string(smb1.AppendString(nil, r.Service(), false)),
		NativeFS: string(r.AppendNativeFileSystem(nil)), OptionalSupport: r.OptionalSupport()}
	t.MaximalAccess, t.HasMaximalAccess = r.MaximalAccess()
	t.GuestMaximalAccess, _ = r.GuestMaximalAccess()
	return t, nil
}

// treeDisconnectRequest is SMB_COM_TREE_DISCONNECT (MS-CIFS 2.2.4.51.1): no parameters.
type emptyRequest struct{}

func (emptyRequest) AppendTo(dst []byte) []byte { return append(dst, 0, 0, 0) }

// TreeDisconnect disconnects a tree.
func (c *Conn) TreeDisconnect(ctx context.Context, tid uint16) error {
	msg, err := c.call(ctx, smb1.CommandTreeDisconnect, tid, emptyRequest{})
	if err != nil {
		return fmt.Errorf("smb1 tree disconnect: %w", err)
	}
	if err := msg.Err(); err != nil {
		return fmt.Errorf("smb1 tree disconnect: %w", err)
	}
	return nil
}

// File is an open file or pipe.
type File struct {
	FID                                                     uint16
	CreateAction                                            uint32
	CreationTime, LastAccessTime, LastWriteTime, ChangeTime uint64
	Attributes                                              uint32
	AllocationSize, EndOfFile                               uint64
	ResourceType                                            uint16
	Directory                                               bool
}

// OpenOptions say how to open a file; the zero value opens an existing file or directory
// for reading (GENERIC_READ, FILE_OPEN, share read/write/delete).
type OpenOptions struct {
	DesiredAccess     uint32 // default FILE_READ_DATA|FILE_READ_ATTRIBUTES|READ_CONTROL|SYNCHRONIZE
	CreateDisposition uint32 // default smb1.FileOpen
	CreateOptions     uint32
	ShareAccess       uint32 // default read|write|delete
}

// Access masks (MS-SMB2 2.2.13.1.1, which SMB1 shares with NT).
const (
	AccessReadData       uint32 = 0x00000001
	AccessWriteData      uint32 = 0x00000002
	AccessAppendData     uint32 = 0x00000004
	AccessReadEA         uint32 = 0x00000008
	AccessWriteEA        uint32 = 0x00000010
	AccessReadAttributes uint32 = 0x00000080
	AccessWriteAttrs     uint32 = 0x00000100
	AccessReadControl    uint32 = 0x00020000
	AccessSynchronize    uint32 = 0x00100000
	accessDefaultRead           = AccessReadData | AccessReadAttributes | AccessReadEA | AccessReadControl | AccessSynchronize
)

// Open opens name (relative to the share root, `dir\file.txt`; on IPC$ a pipe name such as
// `srvsvc`) with NT_CREATE_ANDX.
func (c *Conn) Open(ctx context.Context, tid uint16, name string, o OpenOptions) (File, error) {
	op := "smb1 open " + name
	if o.DesiredAccess == 0 {
		o.DesiredAccess = accessDefaultRead
	}
	if o.CreateDisposition == 0 {
		o.CreateDisposition = smb1.FileOpen
	}
	if o.ShareAccess == 0 {
		o.ShareAccess = smb1.ShareRead | smb1.ShareWrite | smb1.ShareDelete
	}
	req := smb1.NTCreateRequest{DesiredAccess: o.DesiredAccess, ShareAccess: o.ShareAccess,
		CreateDisposition: o.CreateDisposition, CreateOptions: o.CreateOptions,
		ImpersonationLevel: smb1.ImpersonationImpersonation, FileName: name, Unicode: c.neg.Unicode}
	if err := req.Validate(); err != nil {
		return File{}, fmt.Errorf("%s: %w", op, err)
	}
	msg, err := c.call(ctx, smb1.CommandNTCreateAndX, tid, &req)
	if err != nil {
		return File{}, fmt.Errorf("%s: %w", op, err)
	}
	r := smb1.NTCreateResponse(msg)
	if err := r.Validate(); err != nil {
		return File{}, &transport.ProtocolError{Op: op, Err: err}
	}
	if err := r.Err(); err != nil {
		return File{}, fmt.Errorf("%s: %w", op, err)
	}
	return File{FID: r.FID(), CreateAction: r.CreateAction(), CreationTime: r.CreationTime(),
		LastAccessTime: r.LastAccessTime(), LastWriteTime: r.LastWriteTime(), ChangeTime: r.LastChangeTime(),
		Attributes: r.ExtFileAttributes(), AllocationSize: r.AllocationSize(), EndOfFile: r.EndOfFile(),
		ResourceType: r.ResourceType(), Directory: r.Directory()}, nil
}

// CloseFile closes an open file (SMB_COM_CLOSE).
func (c *Conn) CloseFile(ctx context.Context, tid, fid uint16) error {
	req := smb1.CloseRequest{FID: fid, LastTimeModified: 0xffffffff}
	msg, err := c.call(ctx, smb1.CommandClose, tid, &req)
	if err != nil {
		return fmt.Errorf("smb1 close: %w", err)
	}
	if err := smb1.CloseResponse(msg).Err(); err != nil {
		return fmt.Errorf("smb1 close: %w", err)
	}
	return nil
}

// ReadAt reads up to len(p) bytes at off with READ_ANDX, in chunks the server accepts. It
// returns fewer bytes only at the end of the file (n < len(p), nil error), like a short
// io.ReaderAt without io.EOF.
func (c *Conn) ReadAt(ctx context.Context, tid, fid uint16, p []byte, off uint64) (int, error) {
	n := 0
	chunk := c.ioSize(true)
	for n < len(p) {
		want := min(len(p)-n, chunk)
		req := smb1.ReadAndXRequest{FID: fid, Offset: off + uint64(n), Count: uint32(want)}
		msg, err := c.call(ctx, smb1.CommandReadAndX, tid, &req)
		if err != nil {
			return n, fmt.Errorf("smb1 read: %w", err)
		}
		r := smb1.ReadAndXResponse(msg)
		if err := r.Validate(); err != nil {
			return n, &transport.ProtocolError{Op: "smb1 read", Err: err}
		}
		if st := r.Reply().Status(); st.NTStatus() == wire.StatusEndOfFile {
			return n, nil
		}
		if err := r.Err(); err != nil {
			return n, fmt.Errorf("smb1 read: %w", err)
		}
		d := r.Data()
		if len(d) > want {
			return n, &transport.ProtocolError{Op: "smb1 read", Err: fmt.Errorf("%d bytes for a read of %d: %w", len(d), want, wire.ErrTooLarge)}
		}
		n += copy(p[n:], d)
		if len(d) < want {
			return n, nil
		}
	}
	return n, nil
}

// WriteAt writes p at off with WRITE_ANDX, in chunks the server accepts.
func (c *Conn) WriteAt(ctx context.Context, tid, fid uint16, p []byte, off uint64) (int, error) {
	n := 0
	chunk := c.ioSize(false)
	for n < len(p) {
		m := min(len(p)-n, chunk)
		req := smb1.WriteAndXRequest{FID: fid, Offset: off + uint64(n), Data: p[n : n+m]}
		msg, err := c.call(ctx, smb1.CommandWriteAndX, tid, &req)
		if err != nil {
			return n, fmt.Errorf("smb1 write: %w", err)
		}
		r := smb1.WriteAndXResponse(msg)
		if err := r.Validate(); err != nil {
			return n, &transport.ProtocolError{Op: "smb1 write", Err: err}
		}
		if err := r.Err(); err != nil {
			return n, fmt.Errorf("smb1 write: %w", err)
		}
		w := int(r.Count())
		if w > m {
			return n, &transport.ProtocolError{Op: "smb1 write", Err: fmt.Errorf("server wrote %d of %d bytes: %w", w, m, wire.ErrMalformed)}
		}
		n += w
		if w < m {
			return n, fmt.Errorf("smb1 write: short write (%d of %d bytes)", w, m)
		}
	}
	return n, nil
}

// transact sends one TRANSACTION or TRANSACTION2 and reassembles its reply into params and
// data (their capacities cap the reply). It returns the status of the last reply message:
// a non-success status with the success layout (STATUS_BUFFER_OVERFLOW on a pipe) still
// returns the assembled bytes, with the status as the error.
func (c *Conn) transact(ctx context.Context, tid uint16, req *smb1.TransactionRequest, params, data []byte) ([]byte, []byte, error) {
	if err := req.Validate(); err != nil {
		return nil, nil, err
	}
	if max := int(c.neg.MaxBufferSize); max > 0 && smb1.HeaderSize+req.Size() > max {
		return nil, nil, fmt.Errorf("transaction of %d bytes over the server's MaxBufferSize %d: %w", smb1.HeaderSize+req.Size(), max, wire.ErrTooLarge)
	}
	mid, replySeq, err := c.send(ctx, req.Command, tid, req)
	if err != nil {
		return nil, nil, err
	}
	a := smb1.TransactionAssembler{Params: params[:0], Data: data[:0]}
	for i := 0; ; i++ {
		msg, err := c.recv(ctx, req.Command, mid, replySeq)
		if err != nil {
			return nil, nil, err
		}
		r := smb1.TransactionResponse(msg)
		if err := r.Validate(req.Command); err != nil {
			c.broken = &transport.ProtocolError{Op: "transaction", Err: err}
			return nil, nil, c.broken
		}
		if r.Reply().WordCount() == 0 {
			return nil, nil, r.Err()
		}
		if err := a.Add(r); err != nil {
			c.broken = &transport.ProtocolError{Op: "transaction", Err: err}
			return nil, nil, c.broken
		}
		if a.Done() {
			return a.Params, a.Data, r.Err()
		}
		if i+1 >= MaxTransactionFragments {
			c.broken = &transport.ProtocolError{Op: "transaction", Err: fmt.Errorf("reply not complete after %d messages: %w", i+1, wire.ErrTooLarge)}
			return nil, nil, c.broken
		}
	}
}

// TransactNamedPipe writes in to the pipe fid and reads the reply into out
// (TRANS_TRANSACT_NMPIPE, MS-CIFS 2.2.5.6), the exchange DCE/RPC over SMB1 uses. The reply is
// capped at len(out) (MaxDataCount). A reply longer than that comes with
// STATUS_BUFFER_OVERFLOW, returned as the error with n = len(out); read the rest with ReadAt.
func (c *Conn) TransactNamedPipe(ctx context.Context, tid, fid uint16, in, out []byte) (int, error) {
	setup := [2]uint16{smb1.TransTransactNamedPipe, fid}
	maxData := min(len(out), 0xffff)
	req := smb1.TransactionRequest{Command: smb1.CommandTransaction, MaxDataCount: uint16(maxData),
		Setup: setup[:], Name: smb1.PipeName, Unicode: c.neg.Unicode, Data: in}
	_, d, err := c.transact(ctx, tid, &req, nil, out[:0:maxData])
	if err != nil && d == nil {
		return 0, fmt.Errorf("smb1 transact named pipe: %w", err)
	}
	n := copy(out, d)
	if err != nil {
		return n, fmt.Errorf("smb1 transact named pipe: %w", err)
	}
	return n, nil
}

// PeekNamedPipe sends the TRANSACTION that the MS17-010 check uses (TRANS_PEEK_NMPIPE,
// MS-CIFS 2.2.5.5, on the given FID, 0 for the check) and returns the reply's raw status and
// whether it is an NT status; only a transport or decoding failure is an error. A vulnerable
// server answers STATUS_INSUFF_SERVER_RESOURCES, a patched one STATUS_ACCESS_DENIED or
// STATUS_INVALID_HANDLE.
func (c *Conn) PeekNamedPipe(ctx context.Context, tid, fid uint16) (smb1.Status, bool, error) {
	setup := [2]uint16{smb1.TransPeekNamedPipe, fid}
	req := smb1.TransactionRequest{Command: smb1.CommandTransaction, MaxParameterCount: 0xffff,
		MaxDataCount: 0x0800, Setup: setup[:], Name: smb1.PipeName, Unicode: c.neg.Unicode}
	if err := req.Validate(); err != nil {
		return 0, false, err
	}
	msg, err := c.call(ctx, smb1.CommandTransaction, tid, &req)
	if err != nil {
		return 0, false, fmt.Errorf("smb1 peek named pipe: %w", err)
	}
	if err := smb1.TransactionResponse(msg).Validate(smb1.CommandTransaction); err != nil {
		return 0, false, &transport.ProtocolError{Op: "smb1 peek named pipe", Err: err}
	}
	return msg.Status(), msg.UsesNTStatus(), nil
}

// Entry is one directory entry of a listing.
type Entry struct {
	Name                                                    string
	ShortName                                               string
	Size, AllocationSize                                    uint64
	Attributes                                              uint32
	CreationTime, LastAccessTime, LastWriteTime, ChangeTime uint64
	FileIndex                                               uint32
	// FileID is the 64-bit file ID (Options.FileIDs only).
	FileID uint64
}

// Directory reports FILE_ATTRIBUTE_DIRECTORY.
func (e *Entry) Directory() bool { return e.Attributes&0x10 != 0 }

// ErrStop, returned by a List callback, ends the listing early without an error.
var ErrStop = errors.New("stop listing")

// List lists the entries matching pattern (`dir\*`) with TRANS2_FIND_FIRST2 and as many
// TRANS2_FIND_NEXT2 as it takes (MS-CIFS 3.2.4.x: resume from the last name returned), calling
// fn for each entry in the order the server sends them ("." and ".." included). The search is
// closed at its end by the server (FindCloseAtEOS) or with FIND_CLOSE2 when fn stops it. A
// search that does not end after MaxFindRounds rounds, or whose resume point does not
// advance, fails.
func (c *Conn) List(ctx context.Context, tid uint16, pattern string, fn func(*Entry) error) error {
	op := "smb1 find " + pattern
	f := finder{level: smb1.InfoFindFileBothDirectory, unicode: c.neg.Unicode, count: c.opts.FindCount}
	if c.opts.FileIDs {
		f.level = smb1.InfoFindFileIDBothDirectory
	}
	if err := f.first(pattern); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	params := make([]byte, 0, 64)
	data := make([]byte, 0, MaxTransactionReply)
	var sid uint16
	var lastName string
	for round := 0; ; round++ {
		if round >= MaxFindRounds {
			return fmt.Errorf("%s: search did not end after %d rounds: %w", op, round, wire.ErrTooLarge)
		}
		p, d, err := c.transact(ctx, tid, &f.req, params, data)
		if err != nil {
			if round == 0 && errors.Is(err, wire.StatusNoSuchFile) {
				return nil // nothing matches
			}
			return fmt.Errorf("%s: %w", op, err)
		}
		var rp smb1.FindReplyParams
		if err := smb1.DecodeFindReplyParams(p, round == 0, &rp); err != nil {
			return &transport.ProtocolError{Op: op, Err: err}
		}
		if round == 0 {
			sid = rp.SID
		}
		count, name, key, stop, err := findEntries(d, f.level, f.unicode, fn)
		switch {
		case stop != nil:
			if !rp.EndOfSearch {
				c.findClose(ctx, tid, sid)
			}
			if errors.Is(stop, ErrStop) {
				return nil
			}
			return stop
		case err != nil:
			return &transport.ProtocolError{Op: op, Err: err}
		case rp.EndOfSearch:
			return nil
		case count == 0 || name == lastName:
			c.findClose(ctx, tid, sid)
			return &transport.ProtocolError{Op: op, Err: fmt.Errorf("search does not advance (round %d, %d entries): %w", round, count, wire.ErrMalformed)}
		}
		lastName = name
		if err := f.next(sid, key, lastName); err != nil {
			c.findClose(ctx, tid, sid)
			return fmt.Errorf("%s: %w", op, err)
		}
	}
}

// finder builds the TRANS2 requests of one search: FIND_FIRST2, then FIND_NEXT2 resuming
// from the last entry returned.
type finder struct {
	level   uint16
	unicode bool
	count   uint16
	pbuf    [512]byte
	setup   [1]uint16
	req     smb1.TransactionRequest
}

func (f *finder) first(pattern string) error {
	p := smb1.FindFirst2Params{SearchAttributes: smb1.SearchAttributesAll, SearchCount: f.count,
		Flags: smb1.FindCloseAtEOS | smb1.FindReturnResumeKeys, InformationLevel: f.level, FileName: pattern, Unicode: f.unicode}
	if p.Size() > len(f.pbuf) {
		return fmt.Errorf("pattern too long: %w", wire.ErrTooLarge)
	}
	f.setup[0] = smb1.Trans2FindFirst2
	f.req = smb1.TransactionRequest{Command: smb1.CommandTransaction2, MaxParameterCount: 10,
		MaxDataCount: 0xffff, Setup: f.setup[:], Unicode: f.unicode, Parameters: p.AppendTo(f.pbuf[:0])}
	return nil
}

func (f *finder) next(sid uint16, key uint32, name string) error {
	p := smb1.FindNext2Params{SID: sid, SearchCount: f.count, InformationLevel: f.level, ResumeKey: key,
		Flags: smb1.FindCloseAtEOS | smb1.FindReturnResumeKeys, FileName: name, Unicode: f.unicode}
	if p.Size() > len(f.pbuf) {
		return fmt.Errorf("resume name too long: %w", wire.ErrTooLarge)
	}
	f.setup[0] = smb1.Trans2FindNext2
	f.req.MaxParameterCount = 8
	f.req.Parameters = p.AppendTo(f.pbuf[:0])
	return nil
}

// findEntries hands the entries of one FIND reply's data to fn, in order. It returns how
// many there were and the name and resume key of the last; stop is fn's error (which ends the
// listing), err a decoding error.
func findEntries(d []byte, level uint16, unicode bool, fn func(*Entry) error) (count int, name string, key uint32, stop, err error) {
	it := smb1.NewFindEntryIter(d, level, unicode)
	var fe smb1.FindEntry
	for it.Next(&fe) {
		count++
		e := Entry{Name: string(fe.AppendName(nil, unicode)), ShortName: string(smb1.AppendString(nil, fe.ShortName, true)),
			Size: fe.EndOfFile, AllocationSize: fe.AllocationSize, Attributes: fe.ExtFileAttributes,
			CreationTime: fe.CreationTime, LastAccessTime: fe.LastAccessTime, LastWriteTime: fe.LastWriteTime,
			ChangeTime: fe.LastChangeTime, FileIndex: fe.FileIndex, FileID: fe.FileID}
		name, key = e.Name, fe.FileIndex
		if err := fn(&e); err != nil {
			return count, name, key, err, nil
		}
	}
	return count, name, key, nil, it.Err()
}

// findCloseRequest is SMB_COM_FIND_CLOSE2 (MS-CIFS 2.2.4.48.1).
type findCloseRequest struct{ sid uint16 }

func (r findCloseRequest) AppendTo(dst []byte) []byte {
	return append(dst, 1, byte(r.sid), byte(r.sid>>8), 0, 0)
}

// findClose closes a search the server keeps open; errors are ignored (the tree or
// connection going away closes it too).
func (c *Conn) findClose(ctx context.Context, tid, sid uint16) {
	_, _ = c.call(ctx, smb1.CommandFindClose2, tid, findCloseRequest{sid})
}

// FileInfo is what QueryPathInfo returns.
type FileInfo struct {
	CreationTime, LastAccessTime, LastWriteTime, ChangeTime uint64
	Attributes                                              uint32
	AllocationSize, EndOfFile                               uint64
	NumberOfLinks                                           uint32
	DeletePending, Directory                                bool
}

// QueryPathInfo returns the SMB_QUERY_FILE_ALL_INFO of path (TRANS2_QUERY_PATH_INFORMATION,
// MS-CIFS 2.2.6.6); "" is the share root.
func (c *Conn) QueryPathInfo(ctx context.Context, tid uint16, path string) (FileInfo, error) {
	op := "smb1 query path info " + path
	var pbuf [1100]byte
	q := smb1.QueryPathInfoParams{InformationLevel: smb1.InfoQueryFileAllInfo, FileName: path, Unicode: c.neg.Unicode}
	if q.Size() > len(pbuf) {
		return FileInfo{}, fmt.Errorf("%s: path too long: %w", op, wire.ErrTooLarge)
	}
	setup := [1]uint16{smb1.Trans2QueryPathInformation}
	req := smb1.TransactionRequest{Command: smb1.CommandTransaction2, MaxParameterCount: 2, MaxDataCount: 4096,
		Setup: setup[:], Unicode: c.neg.Unicode, Parameters: q.AppendTo(pbuf[:0])}
	var params [16]byte
	var data [4096]byte
	_, d, err := c.transact(ctx, tid, &req, params[:0], data[:0])
	if err != nil {
		return FileInfo{}, fmt.Errorf("%s: %w", op, err)
	}
	f := smb1.FileAllInfo(d)
	if err := f.Validate(); err != nil {
		return FileInfo{}, &transport.ProtocolError{Op: op, Err: err}
	}
	return FileInfo{CreationTime: f.CreationTime(), LastAccessTime: f.LastAccessTime(), LastWriteTime: f.LastWriteTime(),
		ChangeTime: f.LastChangeTime(), Attributes: f.ExtFileAttributes(), AllocationSize: f.AllocationSize(),
		EndOfFile: f.EndOfFile(), NumberOfLinks: f.NumberOfLinks(), DeletePending: f.DeletePending(), Directory: f.Directory()}, nil
}

// andXEmptyRequest is an AndX request without parameters beyond the AndX header:
// SMB_COM_LOGOFF_ANDX (MS-CIFS 2.2.4.54.1).
type andXEmptyRequest struct{}

func (andXEmptyRequest) AppendTo(dst []byte) []byte {
	return append(dst, 2, smb1.CommandNoAndX, 0, 0, 0, 0, 0)
}

// Logoff ends the logged-on session (SMB_COM_LOGOFF_ANDX); signing, if any, stays on for the
// connection as MS-CIFS 3.2.4.25 prescribes.
func (c *Conn) Logoff(ctx context.Context) error {
	msg, err := c.call(ctx, smb1.CommandLogoffAndX, 0, andXEmptyRequest{})
	if err != nil {
		return fmt.Errorf("smb1 logoff: %w", err)
	}
	if err := msg.Err(); err != nil {
		return fmt.Errorf("smb1 logoff: %w", err)
	}
	c.uid = 0
	return nil
}
