package client

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/internal/ntlmcrypto"
	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/ntlmssp"
	"github.com/smbsweep/smbsweep/wire/spnego"
)

// Golden sessions captured from the Samba fleet: every request as the client built it (in
// the clear, before encryption) and every frame Samba sent, as received on the socket
// (signed, or encrypted under the TRANSFORM_HEADER). The replay test feeds Samba's frames back
// to a transport.Conn that sends the same requests: it must derive the same keys (the session
// key is recovered from the recorded AUTHENTICATE with the test password, as a server does),
// verify Samba's signatures and decrypt Samba's ciphertext, byte for byte.
//
//	go test ./client -run TestCaptureGoldens -update   (needs root and Samba)

var update = flag.Bool("update", false, "capture golden sessions from the Samba fleet into testdata/")

type goldenEvent struct {
	Dir string `json:"dir"` // "sent": a request in the clear; "recv": a frame as received
	Hex string `json:"hex"`
}

type goldenSession struct {
	Server  string        `json:"server"`
	Dialect string        `json:"dialect"`
	Events  []goldenEvent `json:"events"`
}

var goldenCases = []struct {
	server  string
	dialect wire.Dialect
}{
	{"signing", wire.Dialect210},
	{"signing", wire.Dialect302},
	{"signing", wire.Dialect311},
	{"encrypt", wire.Dialect300},
	{"encrypt", wire.Dialect311},
}

func goldenPath(server string, d wire.Dialect) string {
	return filepath.Join("testdata", fmt.Sprintf("samba-4.17-%s-%s.json", server, d))
}

// recordingConn records the frames a server sends, reassembled from the byte stream.
type recordingConn struct {
	net.Conn
	log *[]goldenEvent
	buf []byte
}

func (r *recordingConn) Read(b []byte) (int, error) {
	n, err := r.Conn.Read(b)
	r.buf = append(r.buf, b[:n]...)
	for len(r.buf) >= 4 {
		_, l, _ := wire.ParseNetBIOSHeader(r.buf)
		if len(r.buf) < 4+l {
			break
		}
		*r.log = append(*r.log, goldenEvent{"recv", hex.EncodeToString(r.buf[4 : 4+l])})
		r.buf = r.buf[4+l:]
	}
	return n, err
}

type recordingDialer struct{ log *[]goldenEvent }

func (d recordingDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := dialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &recordingConn{Conn: c, log: d.log}, nil
}

func TestCaptureGoldens(t *testing.T) {
	if !*update {
		t.Skip("run with -update to capture golden sessions")
	}
	fleet := sambatest.Require(t)
	for _, gc := range goldenCases {
		srv := fleet.Server(gc.server)
		fixtures(t, srv)
		var log []goldenEvent
		opts := Options{Dialects: []wire.Dialect{gc.dialect}, Trace: func(dir transport.Direction, msg []byte) {
			if dir == transport.Sent {
				log = append(log, goldenEvent{"sent", hex.EncodeToString(msg)})
			}
		}}
		ctx := t.Context()
		c, err := Dial(ctx, recordingDialer{&log}, srv.AddrPort().String(), opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Login(ctx, testCreds()); err != nil {
			t.Fatal(err)
		}
		sh, err := c.TreeConnect(ctx, sambatest.SharePrivate)
		if err != nil {
			t.Fatal(err)
		}
		if err := sh.ReadDir(ctx, uniDir, func(FileInfo) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := sh.ReadFile(ctx, "secret.txt", 0); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		b, _ := json.MarshalIndent(goldenSession{Server: gc.server, Dialect: gc.dialect.String(), Events: log}, "", " ")
		if err := os.WriteFile(goldenPath(gc.server, gc.dialect), append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// replayConn answers each request frame written to it with the recorded frames that followed
// that request.
type replayConn struct {
	recv [][][]byte // per request, the frames Samba sent after it
	next int
	out  []byte
}

func (r *replayConn) Write(b []byte) (int, error) {
	if r.next >= len(r.recv) {
		return 0, errors.New("replay: more requests than recorded")
	}
	for _, f := range r.recv[r.next] {
		r.out = wire.AppendNetBIOSHeader(r.out, len(f))
		r.out = append(r.out, f...)
	}
	r.next++
	return len(b), nil
}

func (r *replayConn) Read(b []byte) (int, error) {
	if len(r.out) == 0 {
		return 0, io.EOF
	}
	n := copy(b, r.out)
	r.out = r.out[n:]
	return n, nil
}

func (r *replayConn) Close() error                     { return nil }
func (r *replayConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (r *replayConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (r *replayConn) SetDeadline(time.Time) error      { return nil }
func (r *replayConn) SetReadDeadline(time.Time) error  { return nil }
func (r *replayConn) SetWriteDeadline(time.Time) error { return nil }

type rawBody []byte

func (b rawBody) AppendTo(dst []byte) []byte { return append(dst, b...) }

// securityBuffer returns the token of a SESSION_SETUP request message.
func securityBuffer(msg []byte) []byte {
	off := binary.LittleEndian.Uint16(msg[wire.HeaderSize+12:])
	n := binary.LittleEndian.Uint16(msg[wire.HeaderSize+14:])
	return msg[off : off+n]
}

// replayResult is what a replay saw of the session's payload.
type replayResult struct {
	names    []string
	read     []byte
	security transport.Security
}

// replay drives a transport.Conn through a golden session; tamper, when set, may alter the
// recorded frames first. It returns the first error.
func replay(t *testing.T, g *goldenSession, tamper func(reqs [][]byte, recv [][][]byte)) (replayResult, error) {
	t.Helper()
	var reqs [][]byte
	var recv [][][]byte
	for _, e := range g.Events {
		b, err := hex.DecodeString(e.Hex)
		if err != nil {
			t.Fatal(err)
		}
		if e.Dir == "sent" {
			reqs = append(reqs, b)
			recv = append(recv, nil)
		} else if len(recv) > 0 {
			recv[len(recv)-1] = append(recv[len(recv)-1], b)
		}
	}
	if tamper != nil {
		tamper(reqs, recv)
	}
	rc := &replayConn{recv: recv}
	c := transport.New(t.Context(), rc, transport.Options{MaxFrame: transport.HardMaxFrame})
	defer c.Close()
	var res replayResult
	var challenge ntlmssp.Challenge
	sessions := map[uint64]*transport.Session{} // the captured SessionIds, each one session
	for _, req := range reqs {
		var h wire.Header
		if err := wire.DecodeHeader(req, &h); err != nil {
			t.Fatal(err)
		}
		if h.SessionID != 0 && sessions[h.SessionID] == nil {
			sessions[h.SessionID] = transport.NewSession(h.SessionID)
		}
		c.Use(sessions[h.SessionID])
		resp, err := c.CallCharge(t.Context(), h.Command, h.TreeID, max(h.CreditCharge, 1), rawBody(req[wire.HeaderSize:]))
		if err != nil {
			return res, err
		}
		switch h.Command {
		case wire.CmdSessionSetup:
			switch resp.Header.Status {
			case wire.StatusMoreProcessingRequired:
				ch, err := challengeFrom(wire.SessionSetupResponse(resp.Msg).SecurityBuffer())
				if err != nil {
					t.Fatal(err)
				}
				challenge = slices.Clone(ch)
			case wire.StatusSuccess:
				key := sessionKeyFromAuthenticate(t, challenge, securityBuffer(req))
				if res.security, err = c.EstablishSession(resp, key[:], transport.SessionOptions{}); err != nil {
					return res, err
				}
			}
		case wire.CmdQueryDirectory:
			if resp.Header.Status == wire.StatusSuccess {
				qr := wire.QueryDirectoryResponse(resp.Msg)
				if err := qr.Validate(); err != nil {
					t.Fatal(err)
				}
				fis, err := decodeEntries(qr.OutputBuffer(), wire.FileIDBothDirectoryInformationClass, uniDir)
				if err != nil {
					t.Fatal(err)
				}
				for _, fi := range fis {
					res.names = append(res.names, fi.Name)
				}
			}
		case wire.CmdRead:
			rr := wire.ReadResponse(resp.Msg)
			if rr.Validate() == nil {
				res.read = append(res.read, rr.Data()...)
			}
		}
	}
	return res, nil
}

// sessionKeyFromAuthenticate recovers the ExportedSessionKey the way the server does
// (MS-NLMP 3.2.5.1.2): the NTLMv2 response verified with the test password's response key
// gives the session base key, which decrypts EncryptedRandomSessionKey.
func sessionKeyFromAuthenticate(t *testing.T, challenge ntlmssp.Challenge, tok []byte) ntlmcrypto.Key {
	t.Helper()
	r, err := spnego.DecodeNegTokenResp(tok)
	if err != nil {
		t.Fatal(err)
	}
	am := ntlmssp.AuthenticateMessage(r.ResponseToken)
	if err := am.Validate(); err != nil {
		t.Fatal(err)
	}
	user, domain := wire.DecodeUTF16LE(am.User()), wire.DecodeUTF16LE(am.Domain())
	base, ok := ntlmcrypto.VerifyNTLMv2Response(ntlmcrypto.NTOWFv2(sambatest.TestPassword, user, domain), challenge.ServerChallenge(), am.NtChallengeResponse())
	if !ok {
		t.Fatal("recorded NTLMv2 response does not verify with the test password")
	}
	enc := am.EncryptedRandomSessionKey()
	if len(enc) != 16 {
		t.Fatalf("no EncryptedRandomSessionKey (%d bytes)", len(enc))
	}
	return ntlmcrypto.RC4K(base, ntlmcrypto.Key(enc))
}

func loadGolden(t *testing.T, server string, d wire.Dialect) *goldenSession {
	t.Helper()
	b, err := os.ReadFile(goldenPath(server, d))
	if err != nil {
		t.Fatal(err)
	}
	var g goldenSession
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return &g
}

func TestGoldenSambaSessions(t *testing.T) {
	for _, gc := range goldenCases {
		t.Run(gc.server+"/"+gc.dialect.String(), func(t *testing.T) {
			g := loadGolden(t, gc.server, gc.dialect)
			res, err := replay(t, g, nil)
			if err != nil {
				t.Fatalf("replay of Samba's session: %v", err)
			}
			if string(res.read) != "smbsweep private file\n" {
				t.Fatalf("read %q", res.read)
			}
			slices.Sort(res.names)
			want := []string{cjkExtBName, emojiName}
			slices.Sort(want)
			if !slices.Equal(res.names, want) {
				t.Fatalf("names %q, want %q", res.names, want)
			}
			t.Logf("Samba session: signing %s, cipher %s, encrypt all %v", wire.SigningAlgorithmName(res.security.SigningAlgorithm), wire.CipherName(res.security.Cipher), res.security.EncryptAll)
			if enc := res.security.EncryptAll; enc != (gc.server == "encrypt") {
				t.Fatalf("security %+v", res.security)
			}
			// A bit flipped in Samba's READ reply (its signature or its ciphertext no longer
			// matches) fails the replay at the READ.
			_, err = replay(t, g, func(reqs [][]byte, recv [][][]byte) {
				for i, r := range reqs {
					if wire.Command(binary.LittleEndian.Uint16(r[12:])) == wire.CmdRead {
						f := recv[i][len(recv[i])-1]
						f[len(f)-1] ^= 0x80
						return
					}
				}
				t.Fatal("no READ in the golden session")
			})
			wantErr := transport.ErrBadSignature
			if gc.server == "encrypt" {
				wantErr = transport.ErrDecrypt
			}
			if !errors.Is(err, wantErr) || !bytes.Contains([]byte(err.Error()), []byte("READ")) {
				t.Fatalf("tampered READ reply: got %v, want %v", err, wantErr)
			}
		})
	}
}

// challengeFrom extracts and validates the NTLM CHALLENGE of a SESSION_SETUP security buffer.
func challengeFrom(buf []byte) (ntlmssp.Challenge, error) {
	tok, err := spnego.ResponseMechToken(buf)
	if err != nil {
		return nil, err
	}
	ch := ntlmssp.Challenge(tok)
	return ch, ch.Validate()
}
