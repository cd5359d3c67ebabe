package probes

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/transport/smb1conn"
	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/smb1"
)

// stageSMB1 decides "SMB1 enabled" with a dedicated SMB1 NEGOTIATE offering only "NT LM 0.12"
// on its own connection — never inferred from an SMB2 exchange (zgrab2 probes SMB1 only as a
// fallback and so reports "no SMB1" for hosts that speak both).
//
// Evidence rules: an NT LM 0.12 acceptance (NT form, DialectIndex 0) is true; an explicit
// refusal (no dialect, an error status, an SMB2 reply, or the server closing the connection in
// answer while it speaks SMB2 on another) is false; silence, a transport failure, an invalid
// reply, or a valid SMB1 reply selecting something not offered (another form, an index outside
// the offer) is unknown.
func stageSMB1(ctx context.Context, s *Session, r *Result) error {
	info := &SMB1Info{Capabilities: []string{}}
	r.SMB1 = info
	conn, err := s.dial(ctx, connSMB1)
	if err != nil {
		info.Evidence = "could not connect for the SMB1 NEGOTIATE: " + err.Error()
		return err
	}
	kept := false
	defer func() {
		if !kept {
			_ = conn.Close()
		}
	}()
	frame := smb1.AppendProbeNegotiate(conn.Buffer())
	if err := conn.WriteFrame(ctx, frame); err != nil {
		info.Evidence = "SMB1 NEGOTIATE could not be sent: " + err.Error()
		return err
	}
	msg, err := conn.ReadFrame(ctx)
	if err != nil {
		if Classify(err) == StatusConnectionReset && s.spokeSMB {
			info.Enabled = Bool(false)
			info.Evidence = "server closed the connection in answer to the SMB1 NEGOTIATE while it answers SMB2 (SMB1 disabled)"
			return nil
		}
		info.Evidence = "no answer to the SMB1 NEGOTIATE: " + err.Error()
		return err
	}
	nr, done, err := smb1Answer(s, info, msg)
	if done || err != nil {
		return err
	}
	s.markSMB1Only(ctx, r)
	kept = s.keepSMB1Conn(conn, msg)
	if nr.NTLanManager() {
		recordSMB1Negotiate(info, nr)
	}
	return nil
}

// smb1Answer decides smb1.enabled from the reply to the probe; done means the reply said all
// there is (no NT LM 0.12 acceptance).
func smb1Answer(s *Session, info *SMB1Info, msg []byte) (smb1.NegotiateResponse, bool, error) {
	if len(msg) >= 4 && binary.LittleEndian.Uint32(msg) == wire.ProtocolSMB2 {
		s.spokeSMB = true
		info.Enabled = Bool(false)
		info.Evidence = "server answered the SMB1 NEGOTIATE with an SMB2 message"
		return nil, true, nil
	}
	nr := smb1.NegotiateResponse(msg)
	if err := nr.Validate(); err != nil {
		if len(msg) < 4 || binary.LittleEndian.Uint32(msg) != wire.ProtocolSMB1 {
			info.Evidence = "the answer to the SMB1 NEGOTIATE is not SMB"
			return nil, true, &transport.NotSMBError{First: append([]byte(nil), msg[:min(len(msg), 16)]...)}
		}
		info.Evidence = "SMB1 NEGOTIATE reply failed validation: " + err.Error()
		return nil, true, &transport.ProtocolError{Op: "SMB1 NEGOTIATE response", Err: err}
	}
	s.spokeSMB = true
	if err := nr.Err(); err != nil {
		info.Enabled = Bool(false)
		info.Evidence = "server refused the SMB1 NEGOTIATE: " + string(nr.Status().AppendText(nil, nr.UsesNTStatus()))
		return nil, true, nil
	}
	if !nr.DialectAccepted() {
		info.Enabled = Bool(false)
		info.Evidence = fmt.Sprintf("server accepted no SMB1 dialect (DialectIndex 0x%04x for NT LM 0.12)", nr.DialectIndex())
		return nil, true, nil
	}
	if !nr.AcceptedNTLM012(smb1.ProbeDialects) {
		// The server speaks SMB1 but selected something the probe did not offer: another
		// form, or an index outside the one-dialect list. That neither accepts NT LM 0.12
		// nor refuses SMB1, so enabled stays unknown (docs/schema.md, smb1.enabled).
		info.Evidence = notAsOffered(nr)
		return nil, true, &transport.ProtocolError{Op: "SMB1 NEGOTIATE response", Err: errors.New(info.Evidence)}
	}
	info.Enabled = Bool(true)
	info.Dialect = smb1.DialectNTLM012
	info.Evidence = "server accepted NT LM 0.12 on a dedicated SMB1 NEGOTIATE"
	return nr, false, nil
}

// keepSMB1Conn keeps the probe's connection, whose NEGOTIATE reply msg accepted NT LM 0.12,
// for the later stages that speak SMB1 on this host (Session.smb1Idle), when there is one.
func (s *Session) keepSMB1Conn(conn *transport.Conn, msg []byte) bool {
	if !(s.ms17Later || s.smb1PathLater && s.smb1Only) || s.smb1Idle != nil {
		return false
	}
	c, err := smb1conn.Adopt(conn, msg, s.smb1Options())
	if err != nil {
		return false // the later stages open their own connection
	}
	s.smb1Idle = c
	return true
}

// recordSMB1Negotiate fills info from an NT LM 0.12 reply in the NT form.
func recordSMB1Negotiate(info *SMB1Info, nr smb1.NegotiateResponse) {
	info.SigningEnabled = Bool(nr.SigningEnabled())
	info.SigningRequired = Bool(nr.SigningRequired())
	info.ExtendedSecurity = Bool(nr.ExtendedSecurity())
	info.Capabilities = smb1.AppendCapabilityNames(info.Capabilities, nr.Capabilities())
	caps := Hex32(nr.Capabilities())
	info.CapabilitiesRaw = &caps
	info.SystemTime = filetime(nr.SystemTime())
	if nr.ExtendedSecurity() {
		info.ServerGUID = wire.GUID(nr.ServerGUID()).String()
	} else {
		info.DomainName = string(nr.AppendDomainName(nil))
		info.ServerName = string(nr.AppendServerName(nil))
	}
}

// notAsOffered describes an SMB1 NEGOTIATE reply that selects a dialect, but not NT LM 0.12 as
// the probe offered it, e.g. "LANMAN-form reply (WordCount 13) selecting dialect index 3,
// outside the 1 offered".
func notAsOffered(nr smb1.NegotiateResponse) string {
	what := fmt.Sprintf("%s-form reply (WordCount %d) selecting dialect index %d", nr.Form(), nr.WordCount(), nr.DialectIndex())
	if int(nr.DialectIndex()) >= smb1.ProbeDialects {
		return fmt.Sprintf("%s, outside the %d offered (NT LM 0.12 only): not an answer to the probe", what, smb1.ProbeDialects)
	}
	return fmt.Sprintf("%s (NT LM 0.12), which is answered in the NT form (WordCount %d): not an NT LM 0.12 acceptance", what, smb1.WordCountNTLM)
}
