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

// pendingClose is an open handle whose CLOSE waits for the connection's next use.
type pendingClose struct {
	session *transport.Session
	tid     uint32
	fid     wire.FileID
}

// closeLater leaves fid open until a later stage uses the connection, which first sends its
// CLOSE (flushCloses); when no later stage does, the handle goes with the connection (a server
// releases every handle of a connection that ends), which saves a sweep one round trip per host.
func (s *Session) closeLater(tid uint32, fid wire.FileID) {
	s.closes = append(s.closes, pendingClose{session: s.conn.Session(), tid: tid, fid: fid})
}

// flushCloses sends the CLOSEs closeLater left, each in the session that opened the handle,
// best effort.
func (s *Session) flushCloses(ctx context.Context) {
	if len(s.closes) == 0 {
		return
	}
	if s.conn != nil {
		cur := s.conn.Session()
		for _, pc := range s.closes {
			s.conn.Use(pc.session)
			_ = s.closeFile(ctx, pc.tid, pc.fid)
		}
		s.conn.Use(cur)
	}
	s.closes = s.closes[:0]
}

// closeFile sends CLOSE for fid, best effort (the connection's fate is what matters to a scan).
func (s *Session) closeFile(ctx context.Context, tid uint32, fid wire.FileID) error {
	c := wire.CloseRequest{FileID: fid}
	_, err := s.conn.Call(ctx, wire.CmdClose, tid, &c)
	return err
}
