package client

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"path"

	"github.com/smbsweep/smbsweep/transport/smb1conn"
	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/smb1"
)

// SMB1Client is the SMB1 (NT LM 0.12) back end of the file operations, over
// transport/smb1conn: NTLMv2 logon with a password or NT hash (extended security when the
// server offers it), signing when the server requires it, tree connect, NT_CREATE_ANDX,
// READ_ANDX/WRITE_ANDX with 64-bit offsets, TRANS2 FIND_FIRST2/FIND_NEXT2 until the end of
// the search, TRANS2 QUERY_PATH_INFORMATION. It is not safe for concurrent use.
type SMB1Client struct {
	conn   *smb1conn.Conn
	addr   string
	neg    smb1conn.Negotiated
	sess   smb1conn.Session
	logged bool
	user   string
	domain string
	shares []*SMB1Share
}

// SMB1Session describes the logged-on SMB1 session.
type SMB1Session struct {
	UID uint16
	// User and Domain are the identity that logged on.
	User, Domain string
	// Extended tells whether the logon used extended security (NTLMSSP in SPNEGO).
	Extended bool
	// Signed reports that every message is signed (the server requires it).
	Signed bool
	// NativeOS and NativeLanMan are the server's strings of the logon reply.
	NativeOS, NativeLanMan string
	// Server is what the NTLM CHALLENGE said about the server (extended security only).
	Server ServerNames
}

// DialSMB1 connects to addr (on port 139 after a NetBIOS session request, like Dial) and
// runs the SMB1 NEGOTIATE offering NT LM 0.12 only.
func DialSMB1(ctx context.Context, d Dialer, addr string, opts Options) (*SMB1Client, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, &Error{Op: "connect", Target: addr, Err: err}
	}
	nc, err := dialSession(ctx, d, addr, host)
	if err != nil {
		return nil, &Error{Op: "connect", Target: addr, Err: err}
	}
	c := &SMB1Client{addr: addr, conn: smb1conn.New(ctx, nc, smb1conn.Options{Trace: opts.Trace, Workstation: opts.Workstation, Now: opts.Now})}
	if c.neg, err = c.conn.Negotiate(ctx); err != nil {
		_ = c.conn.Close()
		return nil, smb1Error("negotiate (SMB1)", "//"+addr, err)
	}
	return c, nil
}

// smb1Error turns an smb1conn error into an *Error: a refusal carries its NT status (and
// nothing else, the status says it all), anything else is the cause.
func smb1Error(op, target string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	var st wire.NTStatus
	if errors.As(err, &st) {
		return &Error{Op: op, Target: target, Status: st}
	}
	return &Error{Op: op, Target: target, Err: err}
}

// Negotiated returns what the SMB1 NEGOTIATE established.
func (c *SMB1Client) Negotiated() smb1conn.Negotiated { return c.neg }

// Addr returns the address dialled.
func (c *SMB1Client) Addr() string { return c.addr }

// Session returns the logged-on session (zero before Login).
func (c *SMB1Client) Session() SMB1Session {
	s := SMB1Session{UID: c.sess.UID, User: c.user, Domain: c.domain, Extended: c.sess.Extended, Signed: c.sess.Signed,
		NativeOS: c.sess.NativeOS, NativeLanMan: c.sess.NativeLanMan}
	if c.sess.NTLM != nil {
		s.Server = *c.sess.NTLM
	}
	return s
}

// Login logs on with NTLMv2 (never LM or NTLMv1). A logon granted only as guest fails with
// ErrGuest, as on SMB2; a refusal names the NT status.
func (c *SMB1Client) Login(ctx context.Context, cred Credentials) error {
	const op = "login"
	target := "//" + c.addr
	if c.logged {
		return &Error{Op: op, Target: target, Err: errors.New("already logged on")}
	}
	if cred.User == "" {
		return &Error{Op: op, Target: target, Err: errors.New("no user name")}
	}
	domain := cred.Domain
	if domain != "" {
		target += " as " + domain + `\` + cred.User
	} else {
		target += " as " + cred.User
	}
	s, err := c.conn.SessionSetup(ctx, smb1conn.Identity{Kind: smb1conn.User, User: cred.User, Domain: domain,
		Password: cred.Password, NTHash: cred.NTHash})
	if err != nil {
		return smb1Error(op, target, err)
	}
	if s.Guest {
		return &Error{Op: op, Target: target, Err: ErrGuest}
	}
	if domain == "" {
		switch {
		case s.NTLM != nil && s.NTLM.NetBIOSDomain != "":
			domain = s.NTLM.NetBIOSDomain
		default:
			domain = c.neg.DomainName
		}
	}
	c.sess, c.logged, c.user, c.domain = s, true, cred.User, domain
	return nil
}

// LoginAnonymous logs on as the null session (empty user, no responses): the anonymous
// endpoints of the API over SMB1. Such a session is never signed; a refusal names the NT
// status.
func (c *SMB1Client) LoginAnonymous(ctx context.Context) (smb1conn.Session, error) {
	target := "//" + c.addr + " anonymously"
	if c.logged {
		return smb1conn.Session{}, &Error{Op: "login", Target: target, Err: errors.New("already logged on")}
	}
	s, err := c.conn.SessionSetup(ctx, smb1conn.Identity{Kind: smb1conn.Anonymous})
	if err != nil {
		return smb1conn.Session{}, smb1Error("login", target, err)
	}
	c.sess, c.logged = s, true
	return s, nil
}

// Close ends the session politely, best effort (TREE_DISCONNECT for every connected share,
// LOGOFF_ANDX), each bounded by a short timeout, and closes the connection.
func (c *SMB1Client) Close() error {
	if c.conn == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	for _, s := range c.shares {
		_ = c.conn.TreeDisconnect(ctx, s.tree.TID)
	}
	c.shares = nil
	if c.logged {
		_ = c.conn.Logoff(ctx)
	}
	err := c.conn.Close()
	c.conn = nil
	return err
}

// SMB1Share is a tree-connected share of an SMB1Client.
type SMB1Share struct {
	c    *SMB1Client
	name string
	tree smb1conn.Tree
}

// TreeConnect connects the disk share named name (`\\server\share`).
func (c *SMB1Client) TreeConnect(ctx context.Context, name string) (*SMB1Share, error) {
	const op = "tree connect"
	target := "//" + c.addr + "/" + name
	if !c.logged {
		return nil, &Error{Op: op, Target: target, Err: errors.New("not logged on")}
	}
	if name == "" || name != CleanPath(name) || path.Base(name) != name {
		return nil, &Error{Op: op, Target: target, Err: errors.New("give the share name only")}
	}
	t, err := c.conn.TreeConnect(ctx, name)
	if err != nil {
		return nil, smb1Error(op, target, err)
	}
	s := &SMB1Share{c: c, name: name, tree: t}
	c.shares = append(c.shares, s)
	return s, nil
}

// Name returns the share name as given to TreeConnect.
func (s *SMB1Share) Name() string { return s.name }

// Protocol returns ProtocolSMB1.
func (s *SMB1Share) Protocol() Protocol { return ProtocolSMB1 }

// Tree returns what the tree connect reply said (service, file system, maximal access).
func (s *SMB1Share) Tree() smb1conn.Tree { return s.tree }

func (s *SMB1Share) target(p string) string {
	t := "//" + s.c.addr + "/" + s.name
	if p = CleanPath(p); p != "" {
		t += "/" + p
	}
	return t
}

// Stat returns the metadata of path with TRANS2_QUERY_PATH_INFORMATION
// (SMB_QUERY_FILE_ALL_INFO, MS-CIFS 2.2.6.6): one round trip, no handle.
func (s *SMB1Share) Stat(ctx context.Context, p string) (FileInfo, error) {
	const op = "stat"
	fi, err := s.c.conn.QueryPathInfo(ctx, s.tree.TID, wirePath(p))
	if err != nil {
		return FileInfo{}, smb1Error(op, s.target(p), err)
	}
	info := FileInfoAt(p)
	info.Size, info.AllocationSize, info.Attributes = int64(fi.EndOfFile), int64(fi.AllocationSize), fi.Attributes
	info.IsDir = dirByEither(fi.Directory, fi.Attributes)
	info.setTimes(fi.CreationTime, fi.LastAccessTime, fi.LastWriteTime, fi.ChangeTime)
	return info, nil
}

// ReadDir lists dir with TRANS2_FIND_FIRST2 and FIND_NEXT2 until the server ends the search
// (smb1conn.List: resume names, a round cap, a search that does not advance is an error),
// calling fn for every entry but "." and "..". A dir that is not a directory fails with
// STATUS_NOT_A_DIRECTORY and a missing one with the server's status, as over SMB2 (one
// QUERY_PATH_INFORMATION first: FIND_FIRST2 would call both "no entries").
func (s *SMB1Share) ReadDir(ctx context.Context, dir string, fn func(FileInfo) error) error {
	const op = "list"
	dir = CleanPath(dir)
	pattern := `*`
	if dir != "" {
		fi, err := s.c.conn.QueryPathInfo(ctx, s.tree.TID, wirePath(dir))
		if err != nil {
			return smb1Error(op, s.target(dir), err)
		}
		if !fi.Directory && fi.Attributes&wire.FileAttributeDirectory == 0 {
			return &Error{Op: op, Target: s.target(dir), Status: wire.StatusNotADirectory}
		}
		pattern = wirePath(dir) + `\*`
	}
	var fnErr error
	err := s.c.conn.List(ctx, s.tree.TID, pattern, func(e *smb1conn.Entry) error {
		if e.Name == "." || e.Name == ".." {
			return nil
		}
		fi := entryIn(dir, e.Name)
		fi.Size, fi.AllocationSize, fi.Attributes, fi.IsDir = int64(e.Size), int64(e.AllocationSize), e.Attributes, e.Directory()
		fi.setTimes(e.CreationTime, e.LastAccessTime, e.LastWriteTime, e.ChangeTime)
		if fnErr = fn(fi); fnErr != nil {
			return smb1conn.ErrStop
		}
		return nil
	})
	if fnErr != nil {
		if errors.Is(fnErr, ErrStop) {
			return nil
		}
		return fnErr
	}
	if err != nil {
		return smb1Error(op, s.target(dir), err)
	}
	return nil
}

// Walk lists dir and its subdirectories down to opts.MaxDepth levels (see Share.Walk).
func (s *SMB1Share) Walk(ctx context.Context, dir string, opts WalkOptions, fn func(FileInfo) error) (WalkResult, error) {
	return walk(ctx, s.ReadDir, dir, opts, fn)
}

// ReadFile reads up to maxBytes of the file at path (maxBytes <= 0: DefaultMaxBytes).
func (s *SMB1Share) ReadFile(ctx context.Context, path string, maxBytes int64) (ReadResult, error) {
	return readAll(ctx, s.ReadFileTo, path, maxBytes)
}

// smb1ReadBuffer is how much one ReadAt asks for (smb1conn splits it into READ_ANDX requests
// the server accepts).
const smb1ReadBuffer = 1 << 20

// ReadFileTo copies up to maxBytes of the file at path to w: NT_CREATE_ANDX (FILE_OPEN, not
// a directory), READ_ANDX from offset 0 until the limit, the end of file or the size the file
// had when opened, then CLOSE.
func (s *SMB1Share) ReadFileTo(ctx context.Context, path string, w io.Writer, maxBytes int64) (ReadResult, error) {
	const op = "read"
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	res := ReadResult{Path: CleanPath(path)}
	if res.Path == "" {
		return res, &Error{Op: op, Target: s.target(path), Status: wire.StatusFileIsADirectory}
	}
	f, err := s.c.conn.Open(ctx, s.tree.TID, wirePath(path), smb1conn.OpenOptions{
		DesiredAccess: smb1conn.AccessReadData | smb1conn.AccessReadAttributes | smb1conn.AccessSynchronize,
		CreateOptions: smb1.CreateNonDirectoryFile,
	})
	if err != nil {
		return res, smb1Error(op, s.target(path), err)
	}
	defer func() { _ = s.c.conn.CloseFile(ctx, s.tree.TID, f.FID) }()
	if f.Directory {
		return res, &Error{Op: op, Target: s.target(path), Status: wire.StatusFileIsADirectory}
	}
	res.Size = int64(f.EndOfFile)
	sum := sha256.New()
	var text TextDetector
	buf := make([]byte, min(int64(smb1ReadBuffer), max(min(maxBytes, res.Size), 1)))
	for res.BytesRead < maxBytes && res.BytesRead < res.Size {
		want := min(int64(len(buf)), maxBytes-res.BytesRead)
		n, err := s.c.conn.ReadAt(ctx, s.tree.TID, f.FID, buf[:want], uint64(res.BytesRead))
		if err != nil {
			var st wire.NTStatus
			if errors.As(err, &st) {
				return res, &Error{Op: op, Target: s.target(path), Status: st, Err: fmt.Errorf("READ_ANDX at offset %d", res.BytesRead+int64(n))}
			}
			return res, smb1Error(op, s.target(path), err)
		}
		data := buf[:n]
		writeAll(sum, data)
		text.Write(data)
		if _, err := w.Write(data); err != nil {
			return res, &Error{Op: op, Target: s.target(path), Err: fmt.Errorf("writing the data read: %w", err)}
		}
		res.BytesRead += int64(n)
		if int64(n) < want {
			break // end of file
		}
	}
	copy(res.SHA256[:], sum.Sum(nil))
	res.Truncated = res.Size > res.BytesRead
	res.IsText = text.IsText(res.Truncated)
	return res, nil
}

// WriteFile writes everything r yields to the file at path: one NT_CREATE_ANDX per mode
// (FILE_CREATE, FILE_OVERWRITE_IF, or FILE_OPEN_IF and writing at the end of file the reply
// reports), WRITE_ANDX requests with 64-bit offsets, then CLOSE, whose failure is reported
// too. It never truncates or replaces an existing file unless mode is Overwrite.
func (s *SMB1Share) WriteFile(ctx context.Context, path string, r io.Reader, mode WriteMode) (WriteResult, error) {
	return writeFile(ctx, s.target, s.openWrite, path, r, mode)
}

// smb1Dispositions are the NT_CREATE_ANDX dispositions of the write modes.
var smb1Dispositions = [...]uint32{CreateOnly: smb1.FileCreate, Overwrite: smb1.FileOverwriteIf, Append: smb1.FileOpenIf}

// openWrite is the SMB1 openForWrite: one NT_CREATE_ANDX.
func (s *SMB1Share) openWrite(ctx context.Context, path string, mode WriteMode) (writable, bool, int64, error) {
	f, err := s.c.conn.Open(ctx, s.tree.TID, wirePath(path), smb1conn.OpenOptions{
		DesiredAccess:     smb1conn.AccessWriteData | smb1conn.AccessAppendData | smb1conn.AccessReadAttributes | smb1conn.AccessSynchronize,
		ShareAccess:       smb1.ShareRead,
		CreateOptions:     smb1.CreateNonDirectoryFile,
		CreateDisposition: smb1Dispositions[mode],
	})
	if err != nil {
		return nil, false, 0, smb1Error("write", s.target(path), err)
	}
	return &smb1File{s: s, path: path, fid: f.FID}, f.CreateAction == wire.CreateActionCreated, int64(f.EndOfFile), nil
}

// smb1File is an SMB1 file open for writing.
type smb1File struct {
	s    *SMB1Share
	path string
	fid  uint16
}

// bufferSize is 1 MiB: smb1conn splits it into WRITE_ANDX requests the server accepts.
func (f *smb1File) bufferSize() int { return 1 << 20 }

func (f *smb1File) write(ctx context.Context, data []byte, off int64) (int64, error) {
	m, err := f.s.c.conn.WriteAt(ctx, f.s.tree.TID, f.fid, data, uint64(off))
	if err != nil {
		var st wire.NTStatus
		if errors.As(err, &st) {
			return int64(m), &Error{Op: "write", Target: f.s.target(f.path), Status: st, Err: fmt.Errorf("WRITE_ANDX at offset %d", off+int64(m))}
		}
		return int64(m), smb1Error("write", f.s.target(f.path), err)
	}
	return int64(m), nil
}

func (f *smb1File) close(ctx context.Context) error {
	if err := f.s.c.conn.CloseFile(ctx, f.s.tree.TID, f.fid); err != nil {
		return smb1Error("write", f.s.target(f.path), err)
	}
	return nil
}
