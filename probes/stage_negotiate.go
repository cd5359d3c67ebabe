package probes

import (
	"context"
	"crypto/rand"

	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/spnego"
)

// stageNegotiate opens the SMB2 connection the later stages share and sends one NEGOTIATE
// offering 2.0.2 through 3.1.1, with 3.1.1 negotiate contexts and a random ClientGuid and salt
// (a fixed ClientGuid makes Samba hand every connection to one process; DESIGN trap 9).
func stageNegotiate(ctx context.Context, s *Session, r *Result) error {
	conn, err := s.dial(ctx, "smb2")
	if err != nil {
		return err
	}
	s.conn = conn
	var guid wire.GUID
	var salt [32]byte
	_, _ = rand.Read(guid[:])
	_, _ = rand.Read(salt[:])
	req := wire.DefaultNegotiateRequest(guid, salt)
	resp, err := conn.Call(ctx, wire.CmdNegotiate, 0, &req)
	if err != nil {
		// A server that speaks SMB1 only closes the connection here; the smb1 stage, which
		// runs next, tells it from a reset by another cause (markSMB1Only).
		s.noSMB2 = Classify(err) == StatusConnectionReset
		return err
	}
	received := s.Opts.now()
	if resp.Header.Status != wire.StatusSuccess {
		s.spokeSMB = true // a valid SMB2 header refusing NEGOTIATE is still an SMB server
		return refusal(resp.Header.Status, "NEGOTIATE")
	}
	nr := wire.NegotiateResponse(resp.Msg)
	if err := nr.Validate(); err != nil {
		// Not "smb": a reply that looks like SMB2 but whose body does not hold together is a
		// protocol error, and the SMB1 verdict must not lean on it either.
		return &transport.ProtocolError{Op: "NEGOTIATE response", Err: err}
	}
	s.spokeSMB = true
	info, err := decodeNegotiate(nr)
	r.Negotiate = info
	if info.SystemTime != nil {
		skew := info.SystemTime.Sub(received).Seconds()
		r.ClockSkewSeconds, r.ClockSkewSource = &skew, ClockSkewNegotiate
	}
	if err != nil {
		return err
	}
	s.dialect = uint16(nr.DialectRevision())
	s.securityMode = nr.SecurityMode()
	s.capabilities = nr.Capabilities()
	s.maxRead, s.maxWrite, s.maxTransact = nr.MaxReadSize(), nr.MaxWriteSize(), nr.MaxTransactSize()
	return nil
}

// decodeNegotiate turns a validated NEGOTIATE response into the result record. A malformed
// negotiate context is returned as an error after everything else was filled in.
func decodeNegotiate(nr wire.NegotiateResponse) (*NegotiateInfo, error) {
	d := nr.DialectRevision()
	mode := nr.SecurityMode()
	info := &NegotiateInfo{
		Dialect:         d.String(),
		DialectRevision: Hex16(d),
		ServerGUID:      nr.ServerGUID().String(),
		SecurityMode:    mode,
		SigningEnabled:  Bool(mode&wire.NegotiateSigningEnabled != 0),
		SigningRequired: Bool(mode&wire.NegotiateSigningRequired != 0),
		Capabilities:    wire.CapabilityNames(nil, nr.Capabilities()),
		CapabilitiesRaw: Hex32(nr.Capabilities()),
		MaxTransactSize: nr.MaxTransactSize(),
		MaxReadSize:     nr.MaxReadSize(),
		MaxWriteSize:    nr.MaxWriteSize(),
		SystemTime:      filetime(nr.SystemTime()),
		BootTime:        filetime(nr.ServerStartTime()),
	}
	if info.Capabilities == nil {
		info.Capabilities = []string{}
	}
	if mechs, err := spnego.DecodeNegTokenInit(nr.SecurityBuffer()); err == nil {
		for i := range mechs.Len() {
			info.SecurityMechanisms = append(info.SecurityMechanisms, spnego.MechName(mechs.At(i)))
		}
	}
	if d != wire.Dialect311 {
		return info, nil
	}
	var ctxs wire.NegotiateContexts
	if err := nr.Contexts(&ctxs); err != nil {
		return info, &transport.ProtocolError{Op: "NEGOTIATE contexts", Err: err}
	}
	it := nr.ContextList()
	var c wire.NegotiateContext
	for it.Next(&c) {
		info.Contexts = append(info.Contexts, wire.NegotiateContextTypeName(c.Type))
	}
	if ctxs.Has(wire.NegotiateContextPreauthIntegrity) {
		info.PreauthHash = wire.HashAlgorithmName(ctxs.PreauthHash)
	}
	if ctxs.Has(wire.NegotiateContextEncryption) {
		info.Cipher = wire.CipherName(ctxs.Cipher)
	}
	if ctxs.Has(wire.NegotiateContextSigning) {
		info.SigningAlgorithm = wire.SigningAlgorithmName(ctxs.SigningAlgorithm)
	}
	if ctxs.Has(wire.NegotiateContextCompression) {
		for _, a := range ctxs.Compression[:ctxs.NCompression] {
			info.Compression = append(info.Compression, wire.CompressionAlgorithmName(a))
		}
	}
	return info, nil
}
