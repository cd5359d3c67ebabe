package probes

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/smbsweep/smbsweep/wire"
)

// ListedByProbe is the shares[].listed_by entry of a share found by the share probe.
const ListedByProbe = "probe"

// MaxProbeShares bounds Options.ProbeShares: the share probe sends at most this many TREE_CONNECTs
// (plus one for a name that cannot exist).
const MaxProbeShares = 32

// DefaultProbeShares are the well-known share names the share probe asks for when SRVSVC gives
// no list: administrative shares, the domain controller shares, the printer driver share, and
// names file servers commonly use.
var DefaultProbeShares = []string{"C$", "D$", "ADMIN$", "IPC$", "SYSVOL", "NETLOGON", "print$", "Users", "Public", "Shared", "Data", "Backup"}

// probeShares returns the names the share probe asks for, bounded by MaxProbeShares.
func (o *Options) probeShares() []string {
	names := o.ProbeShares
	if names == nil {
		names = DefaultProbeShares
	}
	if len(names) > MaxProbeShares {
		names = names[:MaxProbeShares]
	}
	return names
}

// needShareList gates the share probe: it runs only when share enumeration did not give a
// list (SRVSVC refused, failed, not in the profile, or returned nothing), and needs a session.
func needShareList(s *Session, r *Result) string {
	if why := anySession(s, r); why != "" {
		return why
	}
	if sr, ok := r.Stages[StageShares]; ok && sr.Status == StageOK {
		for _, sh := range r.Shares {
			if len(sh.ListedBy) > 0 {
				return "share enumeration (SRVSVC) listed the shares"
			}
		}
	}
	return ""
}

// stageShareProbeRun finds shares by name when SRVSVC gives no list: on the existing session
// (anonymous, else guest) it TREE_CONNECTs each name of Options.ProbeShares. STATUS_SUCCESS and
// STATUS_ACCESS_DENIED mean the share exists (listed_by gains "probe"); STATUS_BAD_NETWORK_NAME
// means it does not (nothing recorded); any other status is recorded as the access record's
// tree_connect without listing the share. A name that cannot exist is asked for first: a server
// that does not answer it with STATUS_BAD_NETWORK_NAME (e.g. one that denies every tree connect
// before looking the name up) cannot tell existing shares from missing ones, and the stage fails
// saying so instead of listing every name. Nothing is opened; connected trees are disconnected.
func stageShareProbeRun(ctx context.Context, s *Session, r *Result) error {
	identity, err := s.shareProbeIdentity(ctx)
	if err != nil {
		return err
	}
	for _, name := range s.Opts.probeShares() {
		if name == "" || hasAccess(r, name, identity) {
			if sh := existingShare(r, name); sh != nil && accessShowsShare(sh, identity) && !contains(sh.ListedBy, ListedByProbe) {
				sh.ListedBy = append(sh.ListedBy, ListedByProbe) // e.g. IPC$, already tree-connected by stage tree
			}
			continue
		}
		acc, st, tid, err := s.treeConnect(ctx, name, identity)
		if err != nil {
			return fmt.Errorf("TREE_CONNECT %s as %s: %w", name, identity, err)
		}
		switch st {
		case wire.StatusBadNetworkName:
			continue
		case wire.StatusSuccess:
			s.treeDisconnect(ctx, tid)
		}
		addShareAccess(r, name, acc)
		if st == wire.StatusSuccess || st == wire.StatusAccessDenied {
			sh := existingShare(r, name)
			sh.ListedBy = append(sh.ListedBy, ListedByProbe)
		}
	}
	return nil
}

// shareProbeIdentity picks the identity whose tree connects tell existing shares from missing
// ones: the first (anonymous, then guest) holding a session that answers a name that cannot
// exist with STATUS_BAD_NETWORK_NAME.
func (s *Session) shareProbeIdentity(ctx context.Context) (string, error) {
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	canary := "smbsweep-probe-" + hex.EncodeToString(rnd[:])
	var last wire.NTStatus
	var tried []string
	for _, identity := range []string{IdentityAnonymous, IdentityGuest} {
		if !s.hasSession(identity) {
			continue
		}
		_, st, tid, err := s.treeConnect(ctx, canary, identity)
		if err != nil {
			return "", fmt.Errorf("TREE_CONNECT of a share that cannot exist (%s) as %s: %w", canary, identity, err)
		}
		if st == wire.StatusSuccess {
			s.treeDisconnect(ctx, tid)
		}
		if st == wire.StatusBadNetworkName {
			return identity, nil
		}
		last = st
		tried = append(tried, identity+" "+st.String())
	}
	if tried == nil {
		return "", fmt.Errorf("%w: no anonymous or guest session to probe shares with", errNotApplicable)
	}
	return "", refusal(last, "TREE_CONNECT of a share that cannot exist ("+canary+": "+strings.Join(tried, ", ")+
		") was not answered with STATUS_BAD_NETWORK_NAME: the server does not tell missing shares apart, so the share probe")
}

// treeDisconnect disconnects a tree, best effort (the answer changes nothing in the record).
func (s *Session) treeDisconnect(ctx context.Context, tid uint32) {
	_, _ = s.conn.Call(ctx, wire.CmdTreeDisconnect, tid, wire.TreeDisconnectRequest{})
}

// existingShare returns r's entry for the share (case-insensitive), nil when there is none.
func existingShare(r *Result, name string) *Share {
	for i := range r.Shares {
		if strings.EqualFold(r.Shares[i].Name, name) {
			return &r.Shares[i]
		}
	}
	return nil
}

// accessShowsShare reports whether identity's tree connect showed that the share exists.
func accessShowsShare(sh *Share, identity string) bool {
	for _, a := range sh.Access {
		if a.Identity == identity && a.TreeConnect != nil &&
			(*a.TreeConnect == wire.StatusSuccess.String() || *a.TreeConnect == wire.StatusAccessDenied.String()) {
			return true
		}
	}
	return false
}
