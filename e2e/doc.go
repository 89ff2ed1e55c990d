// Package e2e holds Slipway's end-to-end tests: a real server on a loopback port, driven by
// clients nobody here wrote (the AWS CLI v2 and boto3 from Debian's packages). It has no code
// outside its tests; see e2e_test.go.
package e2e
