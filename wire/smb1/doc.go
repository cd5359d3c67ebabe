// Package smb1 is smbsweep's SMB1 (CIFS, "NT LM 0.12") codec: the SMB header (MS-CIFS
// 2.2.3.1), SMB_COM_NEGOTIATE (MS-CIFS 2.2.4.52, with the extended-security response of MS-SMB
// 2.2.4.5.2) for the dedicated "SMB1 enabled" probe, and the session layer a client needs
// after it:
//
//   - SESSION_SETUP_ANDX in the extended-security form (MS-SMB 2.2.4.6: a SPNEGO/NTLMSSP blob)
//     and the NT LM 0.12 form (MS-CIFS 2.2.4.53: LMv2/NTLMv2 responses), replies with
//     NativeOS, NativeLanMan and PrimaryDomain;
//   - TREE_CONNECT_ANDX (MS-CIFS 2.2.4.55, MS-SMB 2.2.4.7 extended reply with MaximalAccess);
//   - NT_CREATE_ANDX (MS-CIFS 2.2.4.64), CLOSE (2.2.4.5), READ_ANDX and WRITE_ANDX (2.2.4.42,
//     2.2.4.43, with 64-bit offsets and the MS-SMB high length words);
//   - TRANSACTION and TRANSACTION2 (MS-CIFS 2.2.4.33, 2.2.4.46) with a bounded reassembler of
//     multi-message replies; the named-pipe subcommands TransactNmPipe and PeekNmPipe (2.2.5);
//     TRANS2 FIND_FIRST2/FIND_NEXT2 (2.2.6.2-3) with SMB_FIND_FILE_BOTH_DIRECTORY_INFO and
//     SMB_FIND_FILE_ID_BOTH_DIRECTORY_INFO entries, and QUERY_PATH_INFORMATION (2.2.6.6) with
//     SMB_QUERY_FILE_ALL_INFO.
//
// smbsweep decides whether a server speaks SMB1 by sending one SMB1 NEGOTIATE offering only the
// "NT LM 0.12" dialect on a connection of its own, never by inference from an SMB2 reply. The
// request is built with AppendProbeNegotiate (or NegotiateRequest and Header for other
// dialect lists); the reply is read through the NegotiateResponse view after Validate.
// transport/smb1conn drives the session layer over a connection.
//
// Strings: a request's strings are UTF-16LE when its header has Flags2Unicode, which a client
// sets exactly when the server announced CapUnicode (every request type has a Unicode field to
// match); a reply's strings are decoded by the reply's own Flags2Unicode.
//
// Conventions are those of package wire: requests append into caller buffers, responses are
// views over the whole SMB1 message (the bytes after the 4-byte NetBIOS header) whose
// accessors are valid only after Validate returned nil, nothing allocates, nothing panics, and
// errors wrap the sentinels of package wire. Only the first command of an AndX chain is read;
// AndXOffset is bounded (it must point past the block's data and into the message), never
// followed.
package smb1
