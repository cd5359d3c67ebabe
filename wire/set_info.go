package wire

import "encoding/binary"

// File information classes (MS-FSCC 2.4) that smbsweep sets.
const (
	FileDispositionInformationClass uint8 = 13
	FileEndOfFileInformationClass   uint8 = 20
)

// setInfoRequestFixed is the fixed part of the SET_INFO request body; the buffer follows at
// header-relative offset 64+32 = 96.
const setInfoRequestFixed = 32

// SetInfoRequest is the SMB2 SET_INFO request (MS-SMB2 2.2.39). Buffer is the encoded
// information (e.g. from AppendFileDispositionInformation), appended after the fixed body at
// offset 96.
type SetInfoRequest struct {
	InfoType              uint8 // Info*
	FileInfoClass         uint8 // e.g. FileDispositionInformationClass
	AdditionalInformation uint32
	FileID                FileID
	Buffer                []byte // cut at MaxRequestPayload
}

// Size returns the encoded size of the request body. An empty buffer still sends one zero
// Buffer byte (StructureSize 33 counts one) with BufferLength 0.
func (r *SetInfoRequest) Size() int { return setInfoRequestFixed + max(len(capPayload(r.Buffer)), 1) }

// AppendTo appends the request body and the buffer to dst; it must directly follow the SMB2
// header.
func (r *SetInfoRequest) AppendTo(dst []byte) []byte {
	le := binary.LittleEndian
	buf := capPayload(r.Buffer)
	dst = le.AppendUint16(dst, 33)
	dst = append(dst, r.InfoType, r.FileInfoClass)
	dst = le.AppendUint32(dst, uint32(len(buf)))
	dst = le.AppendUint16(dst, HeaderSize+setInfoRequestFixed) // BufferOffset
	dst = le.AppendUint16(dst, 0)                              // Reserved
	dst = le.AppendUint32(dst, r.AdditionalInformation)
	dst = append(dst, r.FileID[:]...)
	if len(buf) == 0 {
		return append(dst, 0)
	}
	return append(dst, buf...)
}

// AppendFileDispositionInformation appends FILE_DISPOSITION_INFORMATION (MS-FSCC 2.4.11): one
// byte, DeletePending. Setting it deletes the file when its last handle closes; the handle
// needs AccessDelete.
func AppendFileDispositionInformation(dst []byte, deletePending bool) []byte {
	if deletePending {
		return append(dst, 1)
	}
	return append(dst, 0)
}

// AppendFileEndOfFileInformation appends FILE_END_OF_FILE_INFORMATION (MS-FSCC 2.4.13): the
// new size as a signed 64-bit EndOfFile. The handle needs AccessWriteData.
func AppendFileEndOfFileInformation(dst []byte, endOfFile int64) []byte {
	return binary.LittleEndian.AppendUint64(dst, uint64(endOfFile))
}

// SetInfoResponse is the SMB2 SET_INFO response (MS-SMB2 2.2.40): a view over the whole
// message. Validate does not look at the header's Status; failures come with an ERROR body
// (2.2.2), which fails Validate with ErrBadStructureSize.
type SetInfoResponse []byte

// Validate checks the header and the body's size.
func (r SetInfoResponse) Validate() error {
	return validateSMB2Response(r, CmdSetInfo, 2, 2, "set info response")
}
