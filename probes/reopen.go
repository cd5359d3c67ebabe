package probes

import (
	"context"
	"errors"
	"fmt"

	"github.com/smbsweep/smbsweep/wire"
)

// maxReopens bounds how often one host's shared connection is replaced: a server that breaks
// every connection costs a few connections, not one per stage.
const maxReopens = 2

// prepare readies the connections for a stage. Handles an earlier stage left open are closed
// first (closeLater). A stage of the shared connection that finds it unusable — an earlier
// stage's own deadline ended mid-reply, or the server reset it — gets a new one with the same
// sessions and trees (reopen): the stream's position on the old one is unknown, so it is never
// reused, and a slow answer to one stage does not cost the stages after it.
func (s *Session) prepare(ctx context.Context, st *Stage) error {
	if st.conn == connSMB2 && s.conn != nil && s.conn.Err() != nil {
		return s.reopen(ctx)
	}
	if st.conn != connNBStat { // UDP: the SMB2 connection's pending CLOSEs can go with it
		s.flushCloses(ctx)
	}
	return nil
}

// reopen replaces the shared connection: a new NEGOTIATE, then the null and guest sessions and
// the anonymous trees the old connection held, each as the stages that first made them did.
// What the new connection's stages learn again is not recorded: the record keeps the first
// answers.
func (s *Session) reopen(ctx context.Context) error {
	cause := s.conn.Err()
	if s.reopens >= maxReopens {
		return fmt.Errorf("connection unusable after an earlier failure (%w), and already reopened %d times", cause, s.reopens)
	}
	s.reopens++
	_ = s.conn.Close()
	s.conn, s.closes = nil, nil
	null, guest, ipc, trees := s.nullSession, s.guestSession, s.hasIPC, s.trees
	s.nullSession, s.guestSession, s.hasIPC, s.guestIPC, s.trees = false, false, false, 0, nil
	fail := func(what string, err error) error {
		if errors.As(err, new(*ntRefusal)) {
			// Refused now although granted before: not this stage's answer, so not a "failed" stage.
			return fmt.Errorf("reopening the connection an earlier failure left unusable (%v): %s: %v", briefError(cause), what, err)
		}
		return fmt.Errorf("reopening the connection an earlier failure left unusable (%v): %s: %w", briefError(cause), what, err)
	}
	var scratch Result
	if err := stageNegotiate(ctx, s, &scratch); err != nil {
		return fail("NEGOTIATE", err)
	}
	if null {
		if err := stageNullSession(ctx, s, &scratch); err != nil {
			return fail("anonymous SESSION_SETUP", err)
		}
	}
	if guest {
		if err := stageGuest(ctx, s, &scratch); err != nil {
			return fail("guest SESSION_SETUP", err)
		}
	}
	if ipc {
		_, st, tid, err := s.treeConnect(ctx, "IPC$", IdentityAnonymous)
		if err == nil && st != wire.StatusSuccess {
			err = refusal(st, "TREE_CONNECT to IPC$")
		}
		if err != nil {
			return fail("IPC$", err)
		}
		s.ipcTree, s.hasIPC = tid, true
	}
	for name := range trees {
		_, st, tid, err := s.treeConnect(ctx, name, IdentityAnonymous)
		if err != nil {
			return fail("TREE_CONNECT "+name, err)
		}
		if st == wire.StatusSuccess {
			s.setTree(name, tid)
		}
	}
	return nil
}
