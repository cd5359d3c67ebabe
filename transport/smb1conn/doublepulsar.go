package smb1conn

import (
	"context"
	"fmt"

	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire/smb1"
)

// Trans2SessionSetup is the TRANSACTION2 subcommand TRANS2_SESSION_SETUP (MS-CIFS 2.2.6.16:
// reserved, not implemented by Windows), which the DoublePulsar implant hooks.
const Trans2SessionSetup uint16 = 0x000e

// DoublePulsarPingMID is the MID of the ping; an implanted server answers with this MID plus
// 16 (81), an unaltered one echoes it.
const DoublePulsarPingMID uint16 = 65

// doublePulsarPingTimeout is the Timeout field of the ping: the implant derives its command from
// the sum of this field's bytes (0xa6+0xd9+0xa4 = 0x223, low byte 0x23 = "ping"), as in the
// request of Countercept's public doublepulsar-detection-script (bytes a6 d9 a4 00), which
// nmap's smb-double-pulsar-backdoor re-implements.
const doublePulsarPingTimeout uint32 = 0x00a4d9a6

// PingResult is the reply to the DoublePulsar ping.
type PingResult struct {
	// MID is the reply's MID: DoublePulsarPingMID+16 means the implant answered.
	MID uint16
	// Status is the reply's raw status (STATUS_NOT_IMPLEMENTED from an unaltered Windows);
	// NTStatus says whether it is an NT status.
	Status   smb1.Status
	NTStatus bool
}

// DoublePulsarPing sends the DoublePulsar implant check on tree tid (IPC$): one
// SMB_COM_TRANSACTION2 with subcommand TRANS2_SESSION_SETUP, MID 65, the implant's "ping"
// Timeout and twelve zero parameter bytes, and reads one TRANSACTION2 reply whatever its MID.
// An unaltered server rejects the subcommand; the implant answers with MID 81. The request
// changes nothing on either. Only a transport or decoding failure is an error.
func (c *Conn) DoublePulsarPing(ctx context.Context, tid uint16) (PingResult, error) {
	const op = "smb1 DoublePulsar ping (TRANS2_SESSION_SETUP)"
	setup := [1]uint16{Trans2SessionSetup}
	var params [12]byte
	req := smb1.TransactionRequest{Command: smb1.CommandTransaction2, MaxParameterCount: 1,
		Timeout: doublePulsarPingTimeout, Setup: setup[:], Unicode: c.neg.Unicode, Parameters: params[:]}
	if err := req.Validate(); err != nil {
		return PingResult{}, fmt.Errorf("%s: %w", op, err)
	}
	c.mid = DoublePulsarPingMID - 1 // send uses the next MID
	_, replySeq, err := c.send(ctx, smb1.CommandTransaction2, tid, &req)
	if err != nil {
		return PingResult{}, fmt.Errorf("%s: %w", op, err)
	}
	msg, err := c.tc.ReadFrame(ctx)
	if err != nil {
		c.broken = err
		return PingResult{}, fmt.Errorf("%s: %w", op, err)
	}
	r := smb1.Reply(msg)
	if err := r.ValidateCommand(smb1.CommandTransaction2); err != nil {
		c.broken = &transport.ProtocolError{Op: op, Err: err}
		return PingResult{}, c.broken
	}
	if c.signing && !verify(msg, c.macKey, replySeq) {
		c.broken = &transport.ProtocolError{Op: op, Err: ErrBadSignature}
		return PingResult{}, c.broken
	}
	return PingResult{MID: r.MID(), Status: r.Status(), NTStatus: r.UsesNTStatus()}, nil
}
