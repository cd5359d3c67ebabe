package smb1conn

import "testing"

// TestUseUID: an unsigned connection switches between its logons' UIDs; a signed one refuses,
// since interleaving sessions would break the signing sequence.
func TestUseUID(t *testing.T) {
	c := &Conn{uid: 1}
	if err := c.UseUID(7); err != nil || c.UID() != 7 {
		t.Errorf("unsigned: UseUID(7) = %v, UID %d", err, c.UID())
	}
	c = &Conn{uid: 1, signing: true}
	if err := c.UseUID(7); err == nil || c.UID() != 1 {
		t.Errorf("signed: UseUID(7) = %v, UID %d; want refused, UID kept", err, c.UID())
	}
}
