package probes

import (
	"context"

	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
)

// open sends CREATE on tree tid. A refusal is returned as its NT status with a nil error; only
// transport and protocol failures are errors. On success the response view (valid until the
// next request) gives the times, sizes and attributes.
func (s *Session) open(ctx context.Context, tid uint32, req *wire.CreateRequest) (wire.CreateResponse, wire.NTStatus, error) {
	resp, err := s.conn.Call(ctx, wire.CmdCreate, tid, req)
	if err != nil {
		return nil, 0, err
	}
	if st := resp.Header.Status; st != wire.StatusSuccess {
		return nil, st, nil
	}
	cr := wire.CreateResponse(resp.Msg)
	if err := cr.Validate(); err != nil {
		return nil, 0, &transport.ProtocolError{Op: "CREATE response", Err: err}
	}
	return cr, wire.StatusSuccess, nil
}

// closeFile sends CLOSE for fid, best effort (the connection's fate is what matters to a scan).
func (s *Session) closeFile(ctx context.Context, tid uint32, fid wire.FileID) error {
	c := wire.CloseRequest{FileID: fid}
	_, err := s.conn.Call(ctx, wire.CmdClose, tid, &c)
	return err
}
