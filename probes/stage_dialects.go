package probes

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
)

var allDialects = []wire.Dialect{wire.Dialect202, wire.Dialect210, wire.Dialect300, wire.Dialect302, wire.Dialect311}

var allCiphers = []uint16{wire.CipherAES128CCM, wire.CipherAES128GCM, wire.CipherAES256CCM, wire.CipherAES256GCM}

// stageDialects enumerates exactly the dialects the server accepts — one NEGOTIATE offering a
// single dialect per connection — and, when 3.1.1 is among them, the ciphers it accepts, one
// ENCRYPTION_CAPABILITIES context with a single cipher per connection. Both lists are empty, not
// absent, when enumerated with nothing accepted (docs/schema.md). A dialect or cipher is
// "not accepted" only on an explicit answer (an error status, another dialect, no cipher, or the
// server closing the connection in reply); any other failure leaves the list unknown (null).
func stageDialects(ctx context.Context, s *Session, r *Result) error {
	var dialects []string
	for _, d := range allDialects {
		ok, _, err := s.negotiateOnce(ctx, d, nil)
		if err != nil {
			return fmt.Errorf("dialect %s: %w", d, err)
		}
		if ok {
			dialects = append(dialects, d.String())
		}
	}
	// Ciphers are enumerated only when 3.1.1 is accepted: nil (absent) otherwise, and an empty
	// (not nil) list when enumerated and none accepted.
	var ciphers []string
	if len(dialects) > 0 && dialects[len(dialects)-1] == wire.Dialect311.String() {
		ciphers = []string{}
		for _, c := range allCiphers {
			_, chosen, err := s.negotiateOnce(ctx, wire.Dialect311, []uint16{c})
			if err != nil {
				return fmt.Errorf("cipher %s: %w", wire.CipherName(c), err)
			}
			if chosen == c {
				ciphers = append(ciphers, wire.CipherName(c))
			}
		}
	}
	if r.Negotiate == nil {
		// Unreachable: the stage needs negotiate, which records its reply when it succeeds. A
		// made-up record would carry "" for the dialect and GUID it never learned.
		return errors.New("dialects: no NEGOTIATE record to add the enumeration to")
	}
	if dialects == nil {
		dialects = []string{}
	}
	r.Negotiate.Dialects = dialects
	r.Negotiate.Ciphers = ciphers
	return nil
}

// negotiateOnce sends one NEGOTIATE offering only dialect d (and, for 3.1.1, only ciphers when
// given) on a new connection. It reports whether the server selected d and, for 3.1.1, the
// cipher it chose (0 for none).
func (s *Session) negotiateOnce(ctx context.Context, d wire.Dialect, ciphers []uint16) (bool, uint16, error) {
	conn, err := s.dial(ctx, connDialects)
	if err != nil {
		return false, 0, err
	}
	defer conn.Close()
	var guid wire.GUID
	var salt [32]byte
	_, _ = rand.Read(guid[:])
	_, _ = rand.Read(salt[:])
	req := wire.DefaultNegotiateRequest(guid, salt)
	req.Dialects = []wire.Dialect{d}
	if ciphers != nil {
		req.Ciphers = ciphers
	}
	resp, err := conn.Call(ctx, wire.CmdNegotiate, 0, &req)
	if err != nil {
		// A server that answers the full NEGOTIATE but closes the connection on this one is
		// refusing the dialect.
		if s.spokeSMB && Classify(err) == StatusConnectionReset {
			return false, 0, nil
		}
		return false, 0, err
	}
	if resp.Header.Status != wire.StatusSuccess {
		return false, 0, nil
	}
	nr := wire.NegotiateResponse(resp.Msg)
	if err := nr.Validate(); err != nil {
		return false, 0, &transport.ProtocolError{Op: "NEGOTIATE response", Err: err}
	}
	if nr.DialectRevision() != d {
		return false, 0, nil
	}
	if d != wire.Dialect311 {
		return true, 0, nil
	}
	var ctxs wire.NegotiateContexts
	if err := nr.Contexts(&ctxs); err != nil {
		return true, 0, &transport.ProtocolError{Op: "NEGOTIATE contexts", Err: err}
	}
	if !ctxs.Has(wire.NegotiateContextEncryption) {
		return true, 0, nil
	}
	return true, ctxs.Cipher, nil
}
