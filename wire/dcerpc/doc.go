// Package dcerpc is smbsweep's pure codec for the bytes that travel through an SMB named pipe
// when enumerating shares: connection-oriented DCE/RPC PDUs (C706 chapter 12 with the MS-RPCE
// 2.2.2 extensions), NDR20 marshalling (C706 chapter 14, MS-RPCE 2.2.5) and the SRVSVC
// NetrShareEnum call (MS-SRVS 3.1.4.8) at information level 1.
//
// It follows the conventions of package wire: requests are structs with Size() and
// AppendTo(dst []byte) []byte that append into a caller buffer; received PDUs are named []byte
// views checked by one up-front Validate, after which their accessors cannot fail. Nothing is
// sized by a length read from the wire, every count is capped, and encoding, validation and
// iteration do not allocate. Errors wrap the sentinels of package wire (and
// ErrUnsupportedDataRep) with the PDU and field that failed.
//
// Only little-endian, ASCII, IEEE data representation is handled: smbsweep always sends
// {0x10, 0, 0, 0} and rejects anything else a peer sends. Authentication verifiers are skipped
// over (their length is validated) but never interpreted; smbsweep binds without
// authentication.
//
// A share enumeration over an opened \PIPE\srvsvc (the SMB2 side is the caller's):
//
//	bind := dcerpc.NewBind(1, dcerpc.SRVSVCSyntax)
//	buf = bind.AppendTo(buf[:0])            // write it, read the reply
//	ack := dcerpc.BindAck(reply)            // ack.Validate(); ack.Accepted(0)
//	req := dcerpc.NetShareEnumRequest{ServerName: `\\` + host}
//	buf = req.AppendPDU(buf[:0], 2, 0)      // transceive it
//	var asm dcerpc.Reassembler
//	asm.Reset(stubBuf[:0], 2, 0)            // then asm.Write(output) for the IOCTL output and
//	                                        // each READ until asm.Done() (chunks need not
//	                                        // follow fragments), or asm.Add(fragment)
//	var enum dcerpc.ShareEnum
//	err := dcerpc.NetShareEnumResponse(asm.Stub()).Decode(&enum) // then check enum.WError
//	var s dcerpc.ShareInfo1
//	for enum.Next(&s) {
//		// s.Name, s.Type, s.Remark: raw UTF-16LE from the server
//	}
package dcerpc
