package daemon

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/smbsweep/smbsweep/client"
	"github.com/smbsweep/smbsweep/scanner"
	"github.com/smbsweep/smbsweep/wire"
)

// Defaults and bounds of the credentialed endpoints.
const (
	timeoutCIFSAuth   = 15 * time.Second
	timeoutCIFSFiles  = 20 * time.Second
	defaultReadBytes  = client.DefaultMaxBytes // the seed's 64 KiB
	maxReadBytes      = 8 << 20
	defaultListLimit  = 10000
	maxListLimit      = 100000
	maxListedEntries  = 1 << 20 // a directory longer than this is cut (truncated: true)
	writeModeCreate   = "create"
	writeModeReplace  = "overwrite"
	writeModeAppendTo = "append"
)

// cifsRequest is the body of the credentialed endpoints: the seed's fields plus the optional
// offset/limit (ls), maxBytes (read) and mode (write).
type cifsRequest struct {
	apiRequest
	Offset   *int    `json:"offset"`
	Limit    *int    `json:"limit"`
	MaxBytes *int64  `json:"maxBytes"`
	Mode     *string `json:"mode"`
}

// cifsSession is a logged-on client for one request, within the request's timeout budget.
type cifsSession struct {
	req    cifsRequest
	host   string
	target netip.AddrPort
	ctx    context.Context
	cancel context.CancelFunc
	c      *client.Conn
	share  client.FS
	start  time.Time
	// release gives the host's slot of the hosts-in-flight budget back.
	release func()
}

// cifsSpec says what an endpoint needs from the request.
type cifsSpec struct {
	endpoint       string
	defaultTimeout time.Duration
	share          bool // share required
	path           bool // path required
	content        bool // content or base64 accepted
}

// openCIFS decodes and checks a credentialed request, resolves and allowlist-checks the host,
// connects, logs on and tree-connects (when the endpoint uses a share). On any refusal or
// failure it has written the response and returns nil. The caller must call close.
func (s *apiServer) openCIFS(w http.ResponseWriter, r *http.Request, spec cifsSpec, body *cifsRequest) *cifsSession {
	start := time.Now()
	if body == nil {
		body = &cifsRequest{}
		if e := decodeJSON(r, body); e != nil {
			e.write(w)
			return nil
		}
	}
	if e := checkCIFSRequest(body, spec); e != nil {
		e.write(w)
		return nil
	}
	cs, timeout := s.startCIFS(r, spec, *body, start)
	if e := s.admitCIFS(cs); e != nil {
		e.write(w)
		cs.close()
		return nil
	}
	if err := cs.connect(timeout, spec.share); err != nil {
		s.cifsFailure(w, cs, err)
		cs.close()
		return nil
	}
	return cs
}

// startCIFS begins the session of a checked request: its host, and its deadline (the
// request's timeout, else spec's default, from start) that the daemon's shutdown cancels too.
func (s *apiServer) startCIFS(r *http.Request, spec cifsSpec, req cifsRequest, start time.Time) (*cifsSession, time.Duration) {
	cs := &cifsSession{req: req, host: strings.TrimSpace(req.Host), start: start}
	timeout := spec.defaultTimeout
	if req.Timeout != nil {
		timeout = time.Duration(*req.Timeout) * time.Millisecond
	}
	ctx, cancel := context.WithDeadline(r.Context(), start.Add(timeout))
	stop := context.AfterFunc(s.d.shutdown, cancel)
	cs.ctx, cs.cancel = ctx, func() { stop(); cancel() }
	return cs, timeout
}

// admitCIFS takes a slot of the hosts-in-flight budget for the session and resolves its host
// within the allowlist: the target is that address and the request's port (445 by default).
func (s *apiServer) admitCIFS(cs *cifsSession) *apiError {
	release, e := s.hostSlot(cs.ctx)
	if e != nil {
		return e
	}
	cs.release = release
	addr, e := s.resolveAllowed(cs.ctx, cs.host)
	if e != nil {
		return e
	}
	port := 445
	if cs.req.Port != nil {
		port = *cs.req.Port
	}
	cs.target = netip.AddrPortFrom(addr, uint16(port))
	return nil
}

// connect logs on to the target with the request's credentials (over SMB1 when it asks for
// it) and, when the endpoint uses a share, tree-connects it.
func (cs *cifsSession) connect(timeout time.Duration, share bool) error {
	var opts client.ConnectOptions
	if cs.req.SMB1 != nil && *cs.req.SMB1 {
		opts.Protocol = client.ProtocolSMB1
	}
	cred := client.Credentials{User: cs.req.Username, Domain: cs.req.Domain, Password: cs.req.Password}
	addr := net.JoinHostPort(cs.target.Addr().String(), strconv.Itoa(int(cs.target.Port())))
	c, err := client.Connect(cs.ctx, &scanner.Dialer{ConnectTimeout: timeout}, addr, opts, cred)
	if err != nil {
		return err
	}
	cs.c = c
	if !share {
		return nil
	}
	sh, err := c.Share(cs.ctx, strings.TrimSpace(*cs.req.Share))
	if err != nil {
		return err
	}
	cs.share = sh
	return nil
}

// close logs off in the background (bounded by the client's own short timeout) so that the
// response is not held back by the goodbye; the host's budget slot is given back once the
// connection is closed.
func (cs *cifsSession) close() {
	release := cs.release
	cs.release = nil
	if cs.c != nil {
		c := cs.c
		go func() {
			c.Close()
			if release != nil {
				release()
			}
		}()
		cs.c = nil
	} else if release != nil {
		release()
	}
	if cs.cancel != nil {
		cs.cancel()
	}
}

// protocol is the session's protocol, "" before there is one.
func (cs *cifsSession) protocol() string {
	if cs.c == nil {
		return ""
	}
	return string(cs.c.Protocol())
}

func checkCIFSRequest(q *cifsRequest, spec cifsSpec) *apiError {
	if e := checkHost(strings.TrimSpace(q.Host)); e != nil {
		return e
	}
	if q.Port != nil && (*q.Port < 1 || *q.Port > 65535) {
		return badRequest("port", "port %d: must be 1-65535 (default 445)", *q.Port)
	}
	if q.Timeout != nil && (*q.Timeout < 1 || time.Duration(*q.Timeout)*time.Millisecond > maxRequestTimeout) {
		return badRequest("timeout", "timeout %d: must be 1-%d milliseconds (the budget of the whole request)", *q.Timeout, maxRequestTimeout.Milliseconds())
	}
	if q.Username == "" {
		return badRequest("username", "username is required: %s logs on with NTLMv2 (anonymous probes are the /api/smb endpoints; guest logons are refused because they cannot be signed)", spec.endpoint)
	}
	if spec.share {
		if q.Share == nil || strings.TrimSpace(*q.Share) == "" {
			return badRequest("share", "share is required: the share name, e.g. public")
		}
		if e := checkShare("share", strings.TrimSpace(*q.Share)); e != nil {
			return e
		}
	} else if q.Share != nil {
		return badRequest("share", "share: %s does not use a share", spec.endpoint)
	}
	if q.Path != nil {
		if !spec.share {
			return badRequest("path", "path: %s does not use a path", spec.endpoint)
		}
		if e := checkPath(*q.Path); e != nil {
			return e
		}
	}
	if spec.path && (q.Path == nil || client.CleanPath(*q.Path) == "") {
		return badRequest("path", "path is required: the file's path inside the share, e.g. docs/readme.txt")
	}
	if !spec.content && (q.Content != nil || q.Base64 != nil) {
		f := "content"
		if q.Content == nil {
			f = "base64"
		}
		return badRequest(f, "%s: only /api/cifs/write takes content", f)
	}
	if spec.endpoint != "/api/cifs/ls" && (q.Offset != nil || q.Limit != nil) {
		return badRequest("offset", "offset and limit: only /api/cifs/ls pages its answer")
	}
	if spec.endpoint != "/api/cifs/read" && q.MaxBytes != nil {
		return badRequest("maxBytes", "maxBytes: only /api/cifs/read takes it")
	}
	if spec.endpoint != "/api/cifs/write" && q.Mode != nil {
		return badRequest("mode", "mode: only /api/cifs/write takes it")
	}
	return nil
}

// cifsFailure answers a failed connect, logon or tree connect: 200 when the server refused
// (an NT status, or a guest-only logon), 504 when the budget ran out, else 502.
func (s *apiServer) cifsFailure(w http.ResponseWriter, cs *cifsSession, err error) {
	writeJSON(w, cifsCode(cs.ctx, err), cifsCommonOf(cs, err))
}

func cifsCode(ctx context.Context, err error) int {
	var ce *client.Error
	switch {
	case errors.As(err, &ce) && ce.Status != 0, errors.Is(err, client.ErrGuest), errors.Is(err, client.ErrExists):
		return http.StatusOK
	case errors.Is(ctx.Err(), context.DeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

// cifsCommon are the fields of every credentialed response.
type cifsCommon struct {
	Success   bool   `json:"success"`
	Host      string `json:"host"`
	IP        string `json:"ip"`
	Port      int    `json:"port"`
	LatencyMs int64  `json:"latencyMs"`
	Error     string `json:"error,omitempty"`
	// NTStatus names the server's refusal, when there was one.
	NTStatus string `json:"ntStatus,omitempty"`
	// Protocol is the SMB protocol of the session: "smb2" or "smb1" ("" when no session was
	// established).
	Protocol string `json:"protocol,omitempty"`
}

func cifsCommonOf(cs *cifsSession, err error) cifsCommon {
	c := cifsCommon{Success: err == nil, Host: cs.host, IP: cs.target.Addr().String(), Port: int(cs.target.Port()),
		LatencyMs: time.Since(cs.start).Milliseconds(), Protocol: cs.protocol()}
	if err != nil {
		c.Error = err.Error()
		var ce *client.Error
		if errors.As(err, &ce) && ce.Status != 0 {
			c.NTStatus = ce.Status.String()
		}
	}
	return c
}

// --- /api/cifs/auth -----------------------------------------------------------------------

type cifsAuthResponse struct {
	cifsCommon
	Dialect         string     `json:"dialect"`
	ServerGUID      string     `json:"serverGuid"`
	ServerTime      *time.Time `json:"serverTime"`
	TargetDomain    string     `json:"targetDomain"`
	User            string     `json:"user"`
	Domain          string     `json:"domain"`
	SessionID       sessionID  `json:"sessionId"`
	SessionFlags    string     `json:"sessionFlags"`
	SessionFlagsRaw uint16     `json:"sessionFlagsRaw"`
	Signed          bool       `json:"signed"`
	Encrypted       bool       `json:"encrypted"`
	MaxReadSize     uint32     `json:"maxReadSize"`
	MaxWriteSize    uint32     `json:"maxWriteSize"`
	// NativeOS and NativeLanMan are the SMB1 logon reply's strings (SMB1 sessions only).
	NativeOS     *string `json:"nativeOs,omitempty"`
	NativeLanMan *string `json:"nativeLanMan,omitempty"`
}

func (s *apiServer) cifsAuth(w http.ResponseWriter, r *http.Request) {
	cs := s.openCIFS(w, r, cifsSpec{endpoint: "/api/cifs/auth", defaultTimeout: timeoutCIFSAuth}, nil)
	if cs == nil {
		return
	}
	defer cs.close()
	if c1 := cs.c.SMB1(); c1 != nil {
		writeJSON(w, http.StatusOK, cifsAuthSMB1(cs, c1))
		return
	}
	neg, sess := cs.c.SMB2().Negotiated(), cs.c.SMB2().Session()
	resp := cifsAuthResponse{
		cifsCommon: cifsCommonOf(cs, nil), Dialect: seedDialect(neg.Dialect.String()), ServerGUID: neg.ServerGUID.String(),
		TargetDomain: sess.Server.NetBIOSDomain, User: sess.User, Domain: sess.Domain, SessionID: sessionID(sess.ID),
		SessionFlags: seedSessionFlags(sess.Flags), SessionFlagsRaw: sess.Flags, Signed: sess.Signed(), Encrypted: sess.Encrypted(),
		MaxReadSize: neg.MaxReadSize, MaxWriteSize: neg.MaxWriteSize,
	}
	if !neg.SystemTime.IsZero() {
		t := neg.SystemTime.UTC()
		resp.ServerTime = &t
	}
	writeJSON(w, http.StatusOK, resp)
}

// seedSessionFlags is the seed's one-word form of SessionFlags, with the bits read correctly
// (MS-SMB2 2.2.6: 0x1 IS_GUEST, 0x2 IS_NULL, 0x4 ENCRYPT_DATA).
func seedSessionFlags(f uint16) string {
	switch {
	case f&wire.SessionFlagIsGuest != 0:
		return "GUEST"
	case f&wire.SessionFlagIsNull != 0:
		return "NULL"
	case f&wire.SessionFlagEncryptData != 0:
		return "ENCRYPT"
	}
	return "NORMAL"
}

// --- /api/cifs/ls -------------------------------------------------------------------------

type lsEntry struct {
	Name           string     `json:"name"`
	Path           string     `json:"path"`
	IsDir          bool       `json:"isDir"`
	Size           int64      `json:"size"`
	AllocationSize int64      `json:"allocationSize"`
	Created        *time.Time `json:"created"`
	Modified       *time.Time `json:"modified"`
	Accessed       *time.Time `json:"accessed"`
	Changed        *time.Time `json:"changed"`
	Attributes     uint32     `json:"attributes"`
	AttributeNames []string   `json:"attributeNames"`
}

type lsResponse struct {
	cifsCommon
	Share        string    `json:"share"`
	Path         string    `json:"path"`
	EntryCount   int       `json:"entryCount"`
	TotalEntries int       `json:"totalEntries"`
	Offset       int       `json:"offset"`
	NextOffset   *int      `json:"nextOffset"`
	Truncated    bool      `json:"truncated"`
	Entries      []lsEntry `json:"entries"`
}

// lsEntryOf is the seed API's form of one listed file or directory.
func lsEntryOf(fi client.FileInfo) lsEntry {
	return lsEntry{
		Name: fi.Name, Path: fi.Path, IsDir: fi.IsDir, Size: fi.Size, AllocationSize: fi.AllocationSize,
		Created: client.TimeOrNil(fi.CreationTime), Modified: client.TimeOrNil(fi.LastWriteTime),
		Accessed: client.TimeOrNil(fi.LastAccessTime), Changed: client.TimeOrNil(fi.ChangeTime),
		Attributes: fi.Attributes, AttributeNames: fi.AttributeNames(),
	}
}

// cifsLs lists a directory completely (QUERY_DIRECTORY until STATUS_NO_MORE_FILES), sorts it
// by name, and returns the page offset..offset+limit.
func (s *apiServer) cifsLs(w http.ResponseWriter, r *http.Request) {
	var body cifsRequest
	if e := decodeJSON(r, &body); e != nil {
		e.write(w)
		return
	}
	offset, limit, e := lsPaging(body)
	if e != nil {
		e.write(w)
		return
	}
	cs := s.openCIFS(w, r, cifsSpec{endpoint: "/api/cifs/ls", defaultTimeout: timeoutCIFSFiles, share: true}, &body)
	if cs == nil {
		return
	}
	defer cs.close()
	dir := ""
	if body.Path != nil {
		dir = client.CleanPath(*body.Path)
	}
	all, truncated, err := listSorted(cs, dir)
	resp := lsResponse{cifsCommon: cifsCommonOf(cs, err), Share: cs.share.Name(), Path: dir, Offset: offset, Entries: []lsEntry{}}
	if err != nil {
		writeJSON(w, cifsCode(cs.ctx, err), resp)
		return
	}
	resp.TotalEntries, resp.Truncated = len(all), truncated
	if offset < len(all) {
		page := all[offset:min(len(all), offset+limit)]
		for _, fi := range page {
			resp.Entries = append(resp.Entries, lsEntryOf(fi))
		}
		if next := offset + len(page); next < len(all) {
			resp.NextOffset = &next
		}
	}
	resp.EntryCount = len(resp.Entries)
	writeJSON(w, http.StatusOK, resp)
}

// lsPaging returns the page a listing request asks for: offset (default 0) and limit
// (default defaultListLimit, at most maxListLimit).
func lsPaging(body cifsRequest) (offset, limit int, e *apiError) {
	offset, limit = 0, defaultListLimit
	if body.Offset != nil {
		if offset = *body.Offset; offset < 0 {
			return 0, 0, badRequest("offset", "offset %d: must not be negative", offset)
		}
	}
	if body.Limit != nil {
		if limit = *body.Limit; limit < 1 || limit > maxListLimit {
			return 0, 0, badRequest("limit", "limit %d: must be 1-%d entries per answer", limit, maxListLimit)
		}
	}
	return offset, limit, nil
}

// listSorted lists dir of the session's share, sorted by name; truncated says the listing
// was cut at maxListedEntries.
func listSorted(cs *cifsSession, dir string) (all []client.FileInfo, truncated bool, err error) {
	err = cs.share.ReadDir(cs.ctx, dir, func(fi client.FileInfo) error {
		if len(all) >= maxListedEntries {
			truncated = true
			return client.ErrStop
		}
		all = append(all, fi)
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	slices.SortFunc(all, func(a, b client.FileInfo) int { return strings.Compare(a.Name, b.Name) })
	return all, truncated, nil
}

// --- /api/cifs/read -----------------------------------------------------------------------

type readResponse struct {
	cifsCommon
	Share          string `json:"share"`
	Path           string `json:"path"`
	FileSize       int64  `json:"fileSize"`
	BytesRead      int64  `json:"bytesRead"`
	Truncated      bool   `json:"truncated"`
	IsBinary       bool   `json:"isBinary"`
	Encoding       string `json:"encoding,omitempty"` // "utf-8" or "base64": how content holds the bytes
	Content        string `json:"content"`
	SHA256         string `json:"sha256,omitempty"`
	FileAttributes uint32 `json:"fileAttributes"`
}

func (s *apiServer) cifsRead(w http.ResponseWriter, r *http.Request) {
	var body cifsRequest
	if e := decodeJSON(r, &body); e != nil {
		e.write(w)
		return
	}
	maxBytes := int64(defaultReadBytes)
	if body.MaxBytes != nil {
		if maxBytes = *body.MaxBytes; maxBytes < 1 || maxBytes > maxReadBytes {
			badRequest("maxBytes", "maxBytes %d: must be 1-%d", maxBytes, maxReadBytes).write(w)
			return
		}
	}
	cs := s.openCIFS(w, r, cifsSpec{endpoint: "/api/cifs/read", defaultTimeout: timeoutCIFSFiles, share: true, path: true}, &body)
	if cs == nil {
		return
	}
	defer cs.close()
	path := client.CleanPath(*body.Path)
	resp := readResponse{Share: cs.share.Name(), Path: path}
	fi, err := cs.share.Stat(cs.ctx, path)
	var rr client.ReadResult
	if err == nil {
		resp.FileAttributes = fi.Attributes
		rr, err = cs.share.ReadFile(cs.ctx, path, maxBytes)
	}
	resp.cifsCommon = cifsCommonOf(cs, err)
	if err != nil {
		writeJSON(w, cifsCode(cs.ctx, err), resp)
		return
	}
	resp.FileSize, resp.BytesRead, resp.Truncated = rr.Size, rr.BytesRead, rr.Truncated
	resp.SHA256 = hex.EncodeToString(rr.SHA256[:])
	if rr.IsText && utf8.Valid(rr.Data) {
		resp.Encoding, resp.Content = "utf-8", string(rr.Data)
	} else {
		resp.IsBinary, resp.Encoding, resp.Content = true, "base64", base64.StdEncoding.EncodeToString(rr.Data)
	}
	writeJSON(w, http.StatusOK, resp)
}

// --- /api/cifs/stat (credentialed) --------------------------------------------------------

func (s *apiServer) cifsStatCredentialed(w http.ResponseWriter, r *http.Request, body *cifsRequest) {
	cs := s.openCIFS(w, r, cifsSpec{endpoint: "/api/cifs/stat", defaultTimeout: timeoutCIFSStat, share: true}, body)
	if cs == nil {
		return
	}
	defer cs.close()
	path := ""
	if body.Path != nil {
		path = client.CleanPath(*body.Path)
	}
	fi, err := cs.share.Stat(cs.ctx, path)
	resp := cifsStatResponse{Share: cs.share.Name(), Path: path}
	resp.common = common{Success: err == nil, Host: cs.host, IP: cs.target.Addr().String(), Port: int(cs.target.Port()),
		LatencyMs: time.Since(cs.start).Milliseconds(), Status: "smb", Protocol: cs.protocol()}
	if err != nil {
		resp.Error = err.Error()
		writeJSON(w, cifsCode(cs.ctx, err), resp)
		return
	}
	resp.statFields = statFieldsOf(fi)
	resp.RawAttributes = fi.Attributes
	writeJSON(w, http.StatusOK, resp)
}

// --- /api/cifs/write ----------------------------------------------------------------------

type writeResponse struct {
	cifsCommon
	Share        string `json:"share"`
	Path         string `json:"path"`
	Mode         string `json:"mode"`
	Created      bool   `json:"created"`
	Offset       int64  `json:"offset"`
	BytesWritten int64  `json:"bytesWritten"`
}

// cifsWrite is refused with 403 unless api.allow_write is set, before the body is read.
func (s *apiServer) cifsWrite(w http.ResponseWriter, r *http.Request) {
	if !s.d.cfg.Load().API.AllowWrite {
		writeError(w, http.StatusForbidden, "", "/api/cifs/write is disabled: set api.allow_write: true in the configuration (or start serve with -allow-write) to enable it")
		return
	}
	var body cifsRequest
	if e := decodeJSON(r, &body); e != nil {
		e.write(w)
		return
	}
	var data []byte
	switch {
	case body.Content != nil && body.Base64 != nil:
		badRequest("base64", "content and base64 both given: send one").write(w)
		return
	case body.Base64 != nil:
		var err error
		if data, err = base64.StdEncoding.DecodeString(*body.Base64); err != nil {
			badRequest("base64", "base64: not standard base64: %v", err).write(w)
			return
		}
	case body.Content != nil:
		data = []byte(*body.Content)
	}
	mode, modeName := client.CreateOnly, writeModeCreate
	if body.Mode != nil {
		switch modeName = *body.Mode; modeName {
		case writeModeCreate:
		case writeModeReplace:
			mode = client.Overwrite
		case writeModeAppendTo:
			mode = client.Append
		default:
			badRequest("mode", "mode %q: want create (the default: refuse an existing file), overwrite or append", modeName).write(w)
			return
		}
	}
	cs := s.openCIFS(w, r, cifsSpec{endpoint: "/api/cifs/write", defaultTimeout: timeoutCIFSFiles, share: true, path: true, content: true}, &body)
	if cs == nil {
		return
	}
	defer cs.close()
	path := client.CleanPath(*body.Path)
	wr, err := cs.share.WriteFile(cs.ctx, path, bytes.NewReader(data), mode)
	resp := writeResponse{cifsCommon: cifsCommonOf(cs, err), Share: cs.share.Name(), Path: path, Mode: modeName,
		Created: wr.Created, Offset: wr.Offset, BytesWritten: wr.BytesWritten}
	code := http.StatusOK
	if err != nil {
		code = cifsCode(cs.ctx, err)
	}
	s.d.log.Info("file written through the API", "share", resp.Share, "bytes", wr.BytesWritten, "mode", modeName, "ok", err == nil, "remote", clientIP(r))
	writeJSON(w, code, resp)
}
