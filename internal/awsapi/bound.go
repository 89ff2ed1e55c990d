package awsapi

import (
	"strconv"
	"unicode/utf8"
)

// Bounds on client-supplied text that the server logs, records in the audit trail or echoes in an
// error message. A request is not trusted until its signature verifies, and even a signed request
// must not be able to grow the audit table or the log without bound.
const (
	maxUserAgent    = 256  // User-Agent as recorded and logged
	maxOperation    = 128  // operation or X-Amz-Target as recorded
	maxErrorMessage = 1024 // an error message sent back or logged
	// unverifiedKeyPrefix is how much of an access key id is kept before its signature verifies:
	// enough to recognise a key of one's own, too little to fill a log or to store a guessed secret.
	unverifiedKeyPrefix = 8
)

// bound returns s cut to at most max bytes on a rune boundary, saying how much was cut.
func bound(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…(" + strconv.Itoa(len(s)-cut) + " more bytes)"
}

// keyPrefix is what the log and the audit trail say about an access key id that has not been
// verified: a short prefix of it, made only of the characters key ids use, and a marker.
func keyPrefix(id string) string {
	n := 0
	for n < len(id) && n < unverifiedKeyPrefix {
		c := id[n]
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			break
		}
		n++
	}
	if n == len(id) && n > 0 && n < unverifiedKeyPrefix {
		return id + "(unverified)"
	}
	return id[:n] + "…(unverified)"
}
