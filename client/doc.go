// Package client is smbsweep's credentialed SMB2/3 client: NTLMv2 logon (password or NT hash)
// inside SPNEGO, signed and, where the server or share requires it or the caller asks,
// encrypted sessions (package transport does the cryptography), and the file operations of
// the ls, get, stat and put subcommands and of the auth, ls and read scan stages.
//
//	c, err := client.Dial(ctx, dialer, "127.0.0.1:445", client.Options{})
//	defer c.Close()
//	err = c.Login(ctx, client.Credentials{User: "alice", Password: pw})
//	sh, err := c.TreeConnect(ctx, "data")
//	info, err := sh.Stat(ctx, "reports/q1.txt")
//
// Differences from the naive client this replaces, each deliberate: a directory is listed with
// QUERY_DIRECTORY repeated until STATUS_NO_MORE_FILES (never one 64 KiB buffer); sizes are
// 64-bit; names are UTF-16 with surrogate pairs, so characters beyond the BMP survive; reads
// and writes are chunked by the negotiated MaxReadSize and MaxWriteSize with multi-credit
// requests; a stat is one CREATE that does not guess between file and directory; a write never
// replaces an existing file unless asked to.
//
// The same operations run over SMB1 (SMB1Client, SMB1Share, over transport/smb1conn) for
// servers that do not speak SMB2: the FS interface has both back ends, and Connect picks one
// (SMB2/3 first, SMB1 when the server closes the connection on the SMB2 NEGOTIATE or answers
// it with SMB1; ConnectOptions.Protocol forces either):
//
//	c, err := client.Connect(ctx, dialer, "127.0.0.1:445", client.ConnectOptions{}, cred)
//	fs, err := c.Share(ctx, "data") // c.Protocol() says which
//
// Every error is an *Error naming the operation, the target (//host/share/path) and the NT
// status the server answered with. Credentials are never part of an error, a String or a
// Format result.
package client
