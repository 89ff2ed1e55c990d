// Package awsproxy lets SDKs too old to read AWS_ENDPOINT_URL (Debian's boto3 1.26 is one)
// reach Slipway unchanged: the job's HTTPS_PROXY names a loopback proxy that accepts CONNECT
// to AWS API hosts only (*.amazonaws.com, port 443), terminates TLS with a certificate for the
// host minted by a per-install CA (the job's AWS_CA_BUNDLE), and hands each decrypted request,
// Host header untouched so its SigV4 signature verifies, to Slipway's API handler in process.
//
// Invariants:
//   - It is never a general-purpose egress proxy: CONNECT to any other host or port is refused
//     with 403 and nothing is dialled; requests that are not CONNECT are refused too (but for
//     the one local handler the composition root may mount, the credentials endpoint).
//   - It listens on loopback only (Listen refuses other addresses) and drops connections whose
//     peer is not loopback.
//   - The CA is made on first start for this install alone, its certificate is name-constrained
//     to amazonaws.com (a leaked key cannot vouch for any other name), and its private key is
//     stored sealed under the master key in a 0600 file; it is never in any system trust store.
//   - A request inside a tunnel must name the tunnel's host (Host header); otherwise 421.
package awsproxy
