package probes

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/smbsweep/smbsweep/client"
)

// defaultListEntries caps the ls stage's listing when ListMaxEntries is 0: a scan record is
// no place for a whole file server.
const defaultListEntries = 1000

// needShare skips ls when no -share was given.
func needShare(s *Session, _ *Result) string {
	if s.Opts.StatShare == "" {
		return "no -share given"
	}
	return ""
}

// needSharePath skips read when no -share and -path were given.
func needSharePath(s *Session, _ *Result) string {
	if s.Opts.StatShare == "" || s.Opts.StatPath == "" {
		return "no -share and -path given"
	}
	return ""
}

// authShare connects the first -share on the credentialed session (once per host).
func (s *Session) authShareFor(ctx context.Context) (*client.Share, error) {
	if s.authShare != nil {
		return s.authShare, nil
	}
	if s.auth == nil || s.auth.Session() == nil {
		return nil, fmt.Errorf("%w: no credentialed session", errNotApplicable)
	}
	sh, err := s.auth.TreeConnect(ctx, s.Opts.StatShare)
	if err != nil {
		return nil, clientRefusal(err, "credentialed TREE_CONNECT")
	}
	s.authShare = sh
	return sh, nil
}

// clientRefusal turns a client error carrying an NT status into a stage refusal.
func clientRefusal(err error, what string) error {
	var ce *client.Error
	if errors.As(err, &ce) && ce.Status != 0 {
		return refusal(ce.Status, what)
	}
	return unwrapClient(err)
}

// stageLs lists -path (default: the share root) on the first -share with the credentialed
// session: QUERY_DIRECTORY until STATUS_NO_MORE_FILES, down ListDepth levels, at most
// ListMaxEntries entries and within the host deadline (less a second to report and log off).
func stageLs(ctx context.Context, s *Session, r *Result) error {
	sh, err := s.authShareFor(ctx)
	if err != nil {
		return err
	}
	l := &Listing{Share: s.Opts.StatShare, Path: client.CleanPath(s.Opts.StatPath), Entries: []FileEntry{}}
	r.Listing = l
	opts := client.WalkOptions{MaxDepth: s.Opts.ListDepth, MaxEntries: s.Opts.ListMaxEntries}
	if opts.MaxEntries == 0 {
		opts.MaxEntries = defaultListEntries
	}
	if dl, ok := ctx.Deadline(); ok {
		opts.Deadline = dl.Add(-min(time.Second, time.Until(dl)/10))
	}
	res, err := sh.Walk(ctx, s.Opts.StatPath, opts, func(fi client.FileInfo) error {
		l.Entries = append(l.Entries, fileEntryOf(fi))
		return nil
	})
	l.Count, l.Truncated, l.Reason, l.NotEntered, l.Errors = res.Entries, res.Truncated, res.Reason, res.NotEntered, res.Errors
	if err != nil {
		return clientRefusal(err, "credentialed listing of "+l.Path)
	}
	return nil
}

// stageRead reads -path on the first -share with the credentialed session, up to ReadMaxBytes
// (64 KiB by default), and records every byte read (base64), its SHA-256 and whether it is
// text.
func stageRead(ctx context.Context, s *Session, r *Result) error {
	sh, err := s.authShareFor(ctx)
	if err != nil {
		return err
	}
	res, err := sh.ReadFile(ctx, s.Opts.StatPath, s.Opts.ReadMaxBytes)
	if err != nil {
		return clientRefusal(err, "credentialed read of "+client.CleanPath(s.Opts.StatPath))
	}
	r.Read = &FileRead{
		Share: s.Opts.StatShare, Path: res.Path, Size: res.Size, BytesRead: res.BytesRead,
		Truncated: res.Truncated, IsText: res.IsText, SHA256: hex.EncodeToString(res.SHA256[:]),
		Content: base64.StdEncoding.EncodeToString(res.Data),
	}
	return nil
}

// fileEntryOf is the scan record's form of one listed file or directory.
func fileEntryOf(fi client.FileInfo) FileEntry {
	return FileEntry{
		Name: fi.Name, Path: fi.Path, IsDir: fi.IsDir, Size: fi.Size, Attributes: fi.AttributeNames(),
		CreationTime: client.TimeOrNil(fi.CreationTime), LastAccessTime: client.TimeOrNil(fi.LastAccessTime),
		LastWriteTime: client.TimeOrNil(fi.LastWriteTime), ChangeTime: client.TimeOrNil(fi.ChangeTime),
	}
}
