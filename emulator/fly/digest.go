package fly

import (
	"crypto/sha256"
	"encoding/hex"
)

// digestOf is the emulator's own digest (Fly does not disclose its
// algorithm): the first 8 bytes of SHA-256 over a versioned label, the app,
// the name and the value, NUL-separated, as 16 lowercase hex characters.
// Binding app and name means a client cannot get away with recomputing a
// digest from the value alone.
func digestOf(app, name, value string) string {
	h := sha256.New()
	for _, part := range []string{"fly-emulator-digest-v1", app, name, value} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}
