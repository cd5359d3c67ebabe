package main

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/smbsweep/smbsweep/client"
	"github.com/smbsweep/smbsweep/internal/secretfile"
	"github.com/smbsweep/smbsweep/output"
	"github.com/smbsweep/smbsweep/wire"
)

// The credentialed file subcommands (issue 4): ls, get, stat and put on //HOST[:PORT]/SHARE/PATH,
// through package client (NTLMv2 with a password or NT hash, signed or encrypted sessions).

// EnvPassword is the environment variable a password may come from.
const EnvPassword = "SMBSWEEP_PASSWORD"

const filesSynopsis = `Usage:
  smbsweep ls   [flags] //HOST[:PORT]/SHARE[/PATH]        list a directory (or describe a file)
  smbsweep get  [flags] //HOST[:PORT]/SHARE/PATH          read a file (up to -max-bytes)
  smbsweep stat [flags] //HOST[:PORT]/SHARE[/PATH]        metadata of a file or directory
  smbsweep put  [flags] //HOST[:PORT]/SHARE/PATH [FILE]   write FILE (or stdin) to the share

Protocol: SMB2/3, or SMB1 when the server does not speak SMB2 (-smb1 forces SMB1). Port 139
(//HOST:139/SHARE) works too, with the NetBIOS session request first.
Credentials: -u USER with one of -password-file FILE, $SMBSWEEP_PASSWORD, -H NTHASH or -p PASSWORD
(-p and -H are visible to other local users in the process list and stay in shell history).
Output is a readable view on a terminal and JSON otherwise (or with -jsonl).
`

// credFlags are the credential flags shared by the file subcommands.
type credFlags struct {
	user, domain, password, passwordFile, ntHash string
}

func (c *credFlags) define(g *groupedFlags) {
	g.group("Credentials")
	g.StringVar(&c.user, "u", "", "log on as `USER` (DOMAIN\\USER also sets the domain)")
	g.StringVar(&c.domain, "d", "", "NTLM `DOMAIN` (default: the server's, from its NTLM challenge)")
	g.StringVar(&c.passwordFile, "password-file", "", "read the password from the first line of `FILE`")
	g.StringVar(&c.ntHash, "H", "", "log on with the account's NT hash instead of a password (`NTHASH`: 32 hex digits or LM:NT)")
	g.StringVar(&c.password, "p", "", "`PASSWORD` (visible in the process list and shell history: prefer -password-file or $"+EnvPassword+")")
	g.add("u", "d", "password-file", "H", "p")
}

// resolve turns the flags and the environment into Credentials; warnings go to stderr. Its
// errors never contain the secret.
func (c *credFlags) resolve(lookupEnv func(string) (string, bool), stderr io.Writer) (client.Credentials, error) {
	var cred client.Credentials
	user := c.user
	if user == "" {
		return cred, usagef("no user: give -u USER (e.g. -u alice or -u CORP\\alice)")
	}
	domain := c.domain
	if d, u, ok := strings.Cut(user, `\`); ok {
		if domain != "" && !strings.EqualFold(domain, d) {
			return cred, usagef("-u %q and -d %q name different domains: give the domain once", user, c.domain)
		}
		domain, user = d, u
	}
	if user == "" {
		return cred, usagef("-u %q: the user name is empty", c.user)
	}
	cred.User, cred.Domain = user, domain
	given := 0
	for _, s := range []string{c.password, c.passwordFile, c.ntHash} {
		if s != "" {
			given++
		}
	}
	if given > 1 {
		return cred, usagef("give only one of -p, -password-file and -H")
	}
	switch {
	case c.ntHash != "":
		h, err := client.ParseNTHash(c.ntHash)
		if err != nil {
			return cred, usagef("-H: %v", err)
		}
		cred.NTHash = &h
		fmt.Fprintln(stderr, "smbsweep: warning: -H puts the NT hash, which logs on like the password, in the process list and shell history")
	case c.passwordFile != "":
		pw, err := readPasswordFile(c.passwordFile, stderr)
		if err != nil {
			return cred, usagef("-password-file %s: %v", c.passwordFile, err)
		}
		cred.Password = pw
	case c.password != "":
		cred.Password = c.password
		fmt.Fprintln(stderr, "smbsweep: warning: -p puts the password in the process list and shell history; prefer -password-file FILE or $"+EnvPassword)
	default:
		pw, ok := lookupEnv(EnvPassword)
		if !ok {
			return cred, usagef("no password: give -password-file FILE, set $%s, or give -H NTHASH (or -p PASSWORD)", EnvPassword)
		}
		cred.Password = pw
	}
	return cred, nil
}

// readPasswordFile returns the first line of the file, without its line ending. A file that
// others may read earns a warning.
func readPasswordFile(name string, stderr io.Writer) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return "", pe.Err
		}
		return "", err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil {
		if st.IsDir() {
			return "", errors.New("is a directory")
		}
		if w, _ := secretfile.Check(name, st.Mode(), secretfile.Password); w != "" {
			fmt.Fprintf(stderr, "smbsweep: warning: %s\n", w)
		}
	}
	b, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSuffix(line, "\r"), nil
}

// filesFlags are all the flags of the file subcommands; each subcommand defines those it uses.
type filesFlags struct {
	cred       credFlags
	encrypt    bool
	dialect    string
	smb1       bool
	timeout    time.Duration
	jsonl      bool
	depth      int
	maxEntries int
	maxBytes   int64
	out        string
	overwrite  bool
	appendMode bool
}

func defineFilesFlags(cmd string, g *groupedFlags, f *filesFlags) {
	f.cred.define(g)
	g.group("Connection")
	g.BoolVar(&f.encrypt, "encrypt", false, "encrypt the whole session even when the server does not require it (SMB 3.x)")
	g.StringVar(&f.dialect, "dialect", "", "offer only this `DIALECT` (2.0.2, 2.1, 3.0, 3.0.2, 3.1.1); default: all of them")
	g.BoolVar(&f.smb1, "smb1", false, "speak SMB1 (NT LM 0.12) instead of SMB2/3; without it SMB1 is used only when the server does not speak SMB2")
	g.DurationVar(&f.timeout, "timeout", time.Minute, "deadline for the whole command")
	g.add("encrypt", "dialect", "smb1", "timeout")
	g.group("Output")
	g.BoolVar(&f.jsonl, "jsonl", false, "JSON output (the default when stdout is not a terminal)")
	g.add("jsonl")
	switch cmd {
	case "ls":
		g.IntVar(&f.depth, "depth", 0, "also list subdirectories this many levels down (0: the directory only)")
		g.IntVar(&f.maxEntries, "max-entries", 0, "stop after `N` entries (0: no limit)")
		g.add("depth", "max-entries")
	case "get":
		g.Int64Var(&f.maxBytes, "max-bytes", client.DefaultMaxBytes, "read at most `N` bytes")
		g.StringVar(&f.out, "o", "", "write the raw bytes to `FILE` (- for stdout) instead of showing them")
		g.add("max-bytes", "o")
	case "put":
		g.BoolVar(&f.overwrite, "overwrite", false, "replace the file if it exists (without it, an existing file is never touched)")
		g.BoolVar(&f.appendMode, "append", false, "append to the file (created if missing)")
		g.add("overwrite", "append")
	}
}

// uncTarget is a parsed //HOST[:PORT]/SHARE/PATH.
type uncTarget struct {
	Addr  string // host:port
	Share string
	Path  string // share-relative, "/" separated, "" for the root
}

// parseUNC parses //HOST[:PORT]/SHARE[/PATH] (also \\HOST\SHARE\PATH and smb://HOST/SHARE/PATH).
// IPv6 hosts are bracketed: //[::1]:445/share.
func parseUNC(s string) (uncTarget, error) {
	var t uncTarget
	rest, ok := strings.CutPrefix(s, "smb://")
	if !ok {
		if !strings.HasPrefix(s, "//") && !strings.HasPrefix(s, `\\`) {
			return t, fmt.Errorf("%q: want //HOST[:PORT]/SHARE/PATH", s)
		}
		rest = s[2:]
	}
	rest = strings.ReplaceAll(rest, `\`, "/")
	hostport, rest, _ := strings.Cut(rest, "/")
	share, path, _ := strings.Cut(rest, "/")
	if hostport == "" {
		return t, fmt.Errorf("%q: no host: want //HOST[:PORT]/SHARE/PATH", s)
	}
	host, port := hostport, "445"
	if strings.HasPrefix(hostport, "[") {
		end := strings.Index(hostport, "]")
		if end < 0 {
			return t, fmt.Errorf("%q: unterminated [ in the host", s)
		}
		host = hostport[1:end]
		if tail := hostport[end+1:]; tail != "" {
			p, ok := strings.CutPrefix(tail, ":")
			if !ok {
				return t, fmt.Errorf("%q: want [IPv6]:PORT", s)
			}
			port = p
		}
	} else if h, p, ok := strings.Cut(hostport, ":"); ok {
		if strings.Contains(p, ":") {
			return t, fmt.Errorf("%q: put an IPv6 address in brackets: //[::1]/SHARE", s)
		}
		host, port = h, p
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return t, fmt.Errorf("%q: port %q: must be 1-65535", s, port)
	}
	if host == "" {
		return t, fmt.Errorf("%q: no host: want //HOST[:PORT]/SHARE/PATH", s)
	}
	if share == "" {
		return t, fmt.Errorf("%q: no share: want //HOST[:PORT]/SHARE/PATH", s)
	}
	t.Addr = net.JoinHostPort(host, strconv.Itoa(n))
	t.Share = share
	t.Path = client.CleanPath(path)
	return t, nil
}

func dialectFlag(s string) ([]wire.Dialect, error) {
	if s == "" {
		return nil, nil
	}
	for _, d := range client.DefaultDialects {
		if d.String() == s {
			return []wire.Dialect{d}, nil
		}
	}
	return nil, usagef("-dialect %q: must be one of 2.0.2, 2.1, 3.0, 3.0.2, 3.1.1", s)
}

// runFiles is ls, get, stat and put.
func runFiles(cmd string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var f filesFlags
	g := newGroupedFlags("smbsweep " + cmd)
	defineFilesFlags(cmd, g, &f)
	pos, code, ok := parseArgs(cmd, g, args, stdout, stderr)
	if !ok {
		return code
	}
	req, err := f.validate(cmd, pos)
	if err != nil {
		fmt.Fprintf(stderr, "smbsweep %s: %v\n", cmd, err)
		return exitUsage
	}
	cred, err := f.cred.resolve(os.LookupEnv, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "smbsweep %s: %v\n", cmd, err)
		return exitUsage
	}
	req.cred = cred
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	if err := runFileCommand(ctx, cmd, &f, req, stdin, stdout, stderr); err != nil {
		var ue *usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "smbsweep %s: %v\n", cmd, err)
			return exitUsage
		}
		fmt.Fprintf(stderr, "smbsweep %s: %s\n", cmd, output.SanitizeTerminal(err.Error()))
		return exitFailure
	}
	return exitOK
}

// fileRequest is a validated command line.
type fileRequest struct {
	target   uncTarget
	dialects []wire.Dialect
	local    string // put: the local file ("" or "-": stdin)
	cred     client.Credentials
}

func (f *filesFlags) validate(cmd string, pos []string) (fileRequest, error) {
	var r fileRequest
	maxPos := 1
	if cmd == "put" {
		maxPos = 2
	}
	switch {
	case len(pos) == 0:
		return r, usagef("no target: give //HOST[:PORT]/SHARE/PATH (e.g. smbsweep %s -u alice //10.0.0.5/data/reports)", cmd)
	case len(pos) > maxPos:
		return r, usagef("too many arguments %q: give one //HOST/SHARE/PATH%s", pos[maxPos:], map[bool]string{true: " and one local FILE"}[cmd == "put"])
	case f.timeout <= 0:
		return r, usagef("-timeout %s: must be positive (e.g. -timeout 30s)", f.timeout)
	case f.depth < 0:
		return r, usagef("-depth %d: must be 0 or more", f.depth)
	case f.maxEntries < 0:
		return r, usagef("-max-entries %d: must be 0 (no limit) or more", f.maxEntries)
	case cmd == "get" && f.maxBytes <= 0:
		return r, usagef("-max-bytes %d: must be positive (e.g. -max-bytes 1048576)", f.maxBytes)
	case f.overwrite && f.appendMode:
		return r, usagef("-overwrite and -append both given: choose one")
	case f.smb1 && f.encrypt:
		return r, usagef("-smb1 and -encrypt both given: SMB1 has no encryption (drop -smb1 to use SMB 3)")
	case f.smb1 && f.dialect != "":
		return r, usagef("-smb1 and -dialect both given: -dialect chooses an SMB2/3 dialect (drop one)")
	}
	t, err := parseUNC(pos[0])
	if err != nil {
		return r, usagef("%v", err)
	}
	if (cmd == "get" || cmd == "put") && t.Path == "" {
		return r, usagef("%q: give a file path after the share (//HOST/SHARE/PATH)", pos[0])
	}
	if cmd == "put" && len(pos) == 2 {
		r.local = pos[1]
	}
	r.target = t
	if r.dialects, err = dialectFlag(f.dialect); err != nil {
		return r, err
	}
	return r, nil
}

// runFileCommand connects, logs on, connects the share and runs the subcommand; the session
// always ends with TREE_DISCONNECT and LOGOFF (client.Close), also after an error.
func runFileCommand(ctx context.Context, cmd string, f *filesFlags, req fileRequest, stdin io.Reader, stdout, stderr io.Writer) error {
	var in io.Reader
	if cmd == "put" {
		// Open the local input before connecting: a bad path is a usage error, found early.
		fh, err := openPutInput(req.local, stdin)
		if err != nil {
			return err
		}
		defer fh.Close()
		in = fh
	}
	c, err := connectFiles(ctx, cmd, f, req, stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	sh, err := c.Share(ctx, req.target.Share)
	if err != nil {
		return err
	}
	view := &fileView{w: stdout, json: f.jsonl || !isTerminal(stdout), target: req.target, protocol: c.Protocol()}
	switch cmd {
	case "ls":
		return runLs(ctx, sh, f, req, view, stderr)
	case "stat":
		fi, err := sh.Stat(ctx, req.target.Path)
		if err != nil {
			return err
		}
		return view.stat(fi)
	case "get":
		return runGet(ctx, sh, f, req, view, stdout)
	case "put":
		return runPut(ctx, sh, f, req, in, view)
	}
	return fmt.Errorf("unknown command %q", cmd)
}

// openPutInput opens put's local input: the file named local, or stdin for "" and "-". A
// file that cannot be opened is a usage error.
func openPutInput(local string, stdin io.Reader) (io.ReadCloser, error) {
	switch local {
	case "", "-":
		return io.NopCloser(stdin), nil
	}
	fh, err := os.Open(local)
	if err != nil {
		return nil, usagef("%v", err)
	}
	return fh, nil
}

// connectFiles connects and logs on (SMB1 when -smb1 says so, or when the server does not
// speak SMB2, which it notes on stderr).
func connectFiles(ctx context.Context, cmd string, f *filesFlags, req fileRequest, stderr io.Writer) (*client.Conn, error) {
	opts := client.ConnectOptions{Options: client.Options{Dialects: req.dialects, Encrypt: f.encrypt}}
	if f.smb1 {
		opts.Protocol = client.ProtocolSMB1
	}
	c, err := client.Connect(ctx, &net.Dialer{}, req.target.Addr, opts, req.cred)
	if err != nil {
		if errors.Is(err, client.ErrNoSMB2) {
			return nil, fmt.Errorf("%w (drop -encrypt/-dialect to let smbsweep use SMB1)", err)
		}
		return nil, err
	}
	if why := c.Fallback(); why != "" {
		fmt.Fprintf(stderr, "smbsweep %s: the server does not speak SMB2 (%s); using SMB1\n", cmd, output.SanitizeTerminal(why))
	}
	return c, nil
}

// runPut writes in to the target with the mode the flags choose (create only by default).
func runPut(ctx context.Context, sh client.FS, f *filesFlags, req fileRequest, in io.Reader, view *fileView) error {
	mode := client.CreateOnly
	switch {
	case f.overwrite:
		mode = client.Overwrite
	case f.appendMode:
		mode = client.Append
	}
	res, err := sh.WriteFile(ctx, req.target.Path, in, mode)
	if err != nil {
		if errors.Is(err, client.ErrExists) {
			return fmt.Errorf("%w; give -overwrite to replace it or -append to add to it", err)
		}
		return err
	}
	return view.put(res)
}

func runLs(ctx context.Context, sh client.FS, f *filesFlags, req fileRequest, view *fileView, stderr io.Writer) error {
	opts := client.WalkOptions{MaxDepth: f.depth, MaxEntries: f.maxEntries}
	if dl, ok := ctx.Deadline(); ok {
		// Stop listing a little before the deadline, to report what was listed and log off.
		opts.Deadline = dl.Add(-min(2*time.Second, time.Until(dl)/10))
	}
	res, err := sh.Walk(ctx, req.target.Path, opts, view.entry)
	var ce *client.Error
	if errors.As(err, &ce) && ce.Status == wire.StatusNotADirectory && res.Entries == 0 {
		// ls of a file describes the file.
		fi, err := sh.Stat(ctx, req.target.Path)
		if err != nil {
			return err
		}
		return view.entry(fi)
	}
	if err != nil {
		return err
	}
	if err := view.lsDone(res); err != nil {
		return err
	}
	for _, e := range res.Errors {
		fmt.Fprintf(stderr, "smbsweep ls: warning: %s\n", output.SanitizeTerminal(e))
	}
	if res.Truncated {
		fmt.Fprintf(stderr, "smbsweep ls: listing stopped by %s after %d entries (raise -max-entries or -timeout)\n", res.Reason, res.Entries)
	}
	return nil
}

func runGet(ctx context.Context, sh client.FS, f *filesFlags, req fileRequest, view *fileView, stdout io.Writer) error {
	if f.out == "" {
		res, err := sh.ReadFile(ctx, req.target.Path, f.maxBytes)
		if err != nil {
			return err
		}
		return view.get(res, true)
	}
	var w io.Writer = stdout
	if f.out != "-" {
		fh, err := output.OpenFile(f.out, os.O_WRONLY|os.O_TRUNC, true)
		if err != nil {
			return fmt.Errorf("-o %s: %w", f.out, err)
		}
		defer fh.Close()
		w = fh
	}
	res, err := sh.ReadFileTo(ctx, req.target.Path, w, f.maxBytes)
	if err != nil {
		return err
	}
	if f.out == "-" {
		return nil // stdout carries the raw bytes only
	}
	return view.get(res, false)
}

// fileView prints results as JSON (one object per line) or as a readable terminal view, in
// which every server-controlled string is sanitized.
type fileView struct {
	w      io.Writer
	json   bool
	target uncTarget
	n      int
	// protocol is the connection's ("smb2" or "smb1"): every JSON object names it, the
	// terminal view only when it is SMB1.
	protocol client.Protocol
}

// protocolNote is the terminal view's mark of an SMB1 connection.
func (v *fileView) protocolNote() string {
	if v.protocol == client.ProtocolSMB1 {
		return " (SMB1)"
	}
	return ""
}

// fileJSON is the JSON form of one file or directory (ls entries and stat).
type fileJSON struct {
	Name           string     `json:"name"`
	Path           string     `json:"path"`
	IsDir          bool       `json:"is_dir"`
	Size           int64      `json:"size"`
	AllocationSize int64      `json:"allocation_size"`
	Attributes     []string   `json:"attributes"`
	AttributesRaw  string     `json:"attributes_raw"`
	CreationTime   *time.Time `json:"creation_time"`
	LastAccessTime *time.Time `json:"last_access_time"`
	LastWriteTime  *time.Time `json:"last_write_time"`
	ChangeTime     *time.Time `json:"change_time"`
	// Protocol is the SMB protocol that carried the answer: "smb2" or "smb1".
	Protocol client.Protocol `json:"protocol"`
}

// toJSON is the CLI's JSON form of fi, without the protocol (see fileView.toJSON).
func toJSON(fi client.FileInfo) fileJSON {
	return fileJSON{
		Name: fi.Name, Path: fi.Path, IsDir: fi.IsDir, Size: fi.Size, AllocationSize: fi.AllocationSize,
		Attributes: fi.AttributeNames(), AttributesRaw: fmt.Sprintf("0x%08x", fi.Attributes),
		CreationTime: client.TimeOrNil(fi.CreationTime), LastAccessTime: client.TimeOrNil(fi.LastAccessTime),
		LastWriteTime: client.TimeOrNil(fi.LastWriteTime), ChangeTime: client.TimeOrNil(fi.ChangeTime),
	}
}

func (v *fileView) emit(x any) error {
	b, err := json.Marshal(x)
	if err != nil {
		return err
	}
	_, err = v.w.Write(append(b, '\n'))
	return err
}

func (v *fileView) entry(fi client.FileInfo) error {
	v.n++
	if v.json {
		return v.emit(v.toJSON(fi))
	}
	kind := "-"
	if fi.IsDir {
		kind = "d"
	}
	mod := "-"
	if !fi.LastWriteTime.IsZero() {
		mod = fi.LastWriteTime.UTC().Format("2006-01-02 15:04")
	}
	name := fi.Path
	if fi.IsDir {
		name += "/"
	}
	_, err := fmt.Fprintf(v.w, "%s %14d  %s  %s\n", kind, fi.Size, mod, output.SanitizeTerminal(name))
	return err
}

func (v *fileView) lsDone(res client.WalkResult) error {
	if v.json {
		return nil
	}
	_, err := fmt.Fprintf(v.w, "%d entries in //%s/%s/%s%s\n", res.Entries, v.target.Addr, output.SanitizeTerminal(v.target.Share), output.SanitizeTerminal(v.target.Path), v.protocolNote())
	return err
}

// toJSON is toJSON with the view's protocol.
func (v *fileView) toJSON(fi client.FileInfo) fileJSON {
	j := toJSON(fi)
	j.Protocol = v.proto()
	return j
}

// proto is the protocol for JSON: the zero value (views built by tests) is SMB2.
func (v *fileView) proto() client.Protocol {
	if v.protocol == client.ProtocolAuto {
		return client.ProtocolSMB2
	}
	return v.protocol
}

func (v *fileView) stat(fi client.FileInfo) error {
	if v.json {
		return v.emit(v.toJSON(fi))
	}
	j := toJSON(fi)
	var b strings.Builder
	fmt.Fprintf(&b, "path:            %s\n", output.SanitizeTerminal("/"+fi.Path))
	fmt.Fprintf(&b, "type:            %s\n", map[bool]string{true: "directory", false: "file"}[fi.IsDir])
	fmt.Fprintf(&b, "size:            %d\n", fi.Size)
	fmt.Fprintf(&b, "allocation size: %d\n", fi.AllocationSize)
	fmt.Fprintf(&b, "attributes:      %s (%s)\n", strings.Join(j.Attributes, ","), j.AttributesRaw)
	for _, tv := range []struct {
		name string
		t    *time.Time
	}{{"created", j.CreationTime}, {"accessed", j.LastAccessTime}, {"modified", j.LastWriteTime}, {"changed", j.ChangeTime}} {
		s := "-"
		if tv.t != nil {
			s = tv.t.Format(time.RFC3339Nano)
		}
		fmt.Fprintf(&b, "%-16s %s\n", tv.name+":", s)
	}
	if v.protocol == client.ProtocolSMB1 {
		fmt.Fprintf(&b, "protocol:        SMB1\n")
	}
	_, err := io.WriteString(v.w, b.String())
	return err
}

// getJSON is the JSON form of a get.
type getJSON struct {
	Path      string `json:"path"`
	Size      int64  `json:"size"`
	BytesRead int64  `json:"bytes_read"`
	Truncated bool   `json:"truncated"`
	IsText    bool   `json:"is_text"`
	SHA256    string `json:"sha256"`
	// Encoding says how Content is written: "utf-8" (the text itself) when the bytes are
	// text and valid UTF-8 as a whole, else "base64" (standard, padded). Both are absent
	// with -o.
	Encoding string `json:"encoding,omitempty"`
	Content  string `json:"content,omitempty"`
	// Protocol is "smb2" or "smb1".
	Protocol client.Protocol `json:"protocol"`
}

func (v *fileView) get(res client.ReadResult, withContent bool) error {
	if v.json {
		j := getJSON{Path: res.Path, Size: res.Size, BytesRead: res.BytesRead, Truncated: res.Truncated,
			IsText: res.IsText, SHA256: hex.EncodeToString(res.SHA256[:]), Protocol: v.proto()}
		switch {
		case !withContent:
		case res.IsText && utf8.Valid(res.Data):
			j.Encoding, j.Content = "utf-8", string(res.Data)
		default:
			j.Encoding, j.Content = "base64", base64.StdEncoding.EncodeToString(res.Data)
		}
		return v.emit(j)
	}
	if withContent && res.IsText {
		for line := range strings.Lines(string(res.Data)) {
			if _, err := io.WriteString(v.w, output.SanitizeTerminal(strings.TrimSuffix(line, "\n"))+"\n"); err != nil {
				return err
			}
		}
	} else if withContent {
		fmt.Fprintf(v.w, "(binary content not shown: use -o FILE for the raw bytes, or -jsonl for base64)\n")
	}
	trunc := ""
	if res.Truncated {
		trunc = " (truncated: raise -max-bytes for more)"
	}
	_, err := fmt.Fprintf(v.w, "-- %d of %d bytes%s, sha256 %x%s\n", res.BytesRead, res.Size, trunc, res.SHA256, v.protocolNote())
	return err
}

// putJSON is the JSON form of a put.
type putJSON struct {
	Path         string `json:"path"`
	Mode         string `json:"mode"`
	Created      bool   `json:"created"`
	Offset       int64  `json:"offset"`
	BytesWritten int64  `json:"bytes_written"`
	// Protocol is "smb2" or "smb1".
	Protocol client.Protocol `json:"protocol"`
}

func (v *fileView) put(res client.WriteResult) error {
	if v.json {
		return v.emit(putJSON{Path: res.Path, Mode: res.Mode.String(), Created: res.Created, Offset: res.Offset, BytesWritten: res.BytesWritten, Protocol: v.proto()})
	}
	what := "wrote"
	if res.Mode == client.Append {
		what = fmt.Sprintf("appended at offset %d:", res.Offset)
	}
	_, err := fmt.Fprintf(v.w, "%s %d bytes to //%s/%s/%s%s\n", what, res.BytesWritten, v.target.Addr, output.SanitizeTerminal(v.target.Share), output.SanitizeTerminal(res.Path), v.protocolNote())
	return err
}
