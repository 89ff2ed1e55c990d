// Package jobcreds gives the code inside a job the credentials of the job's role, the way
// SageMaker does: through the container credentials provider that every AWS SDK reads
// (AWS_CONTAINER_CREDENTIALS_FULL_URI + AWS_CONTAINER_AUTHORIZATION_TOKEN).
//
// The jobs engine issues a grant per job attempt (Issue): a random bearer token bound to an
// account, a role, a session name and a source (the job's ARN), valid until an expiry. The job
// gets the token and the endpoints in its environment (Env). The SDK inside the job presents
// the token to the credentials endpoint, which answers the credentials of a fresh session of
// the role (Credentials), minted as an engine session: the role's trust policy must allow the
// engine (sagemaker.amazonaws.com), and the decision is audited like every engine's.
//
// Invariants:
//   - Only the SHA-256 of a token is stored; a token is looked up by its hash and compared in
//     constant time. Tokens are never logged.
//   - A revoked, expired or unknown token gets nothing, and the revocation deletes the session
//     keys minted for the grant, so they stop working at once rather than at their expiry.
//     A key minted while its grant is being revoked is deleted again (the store refuses to
//     record a key for a revoked grant).
//   - Every request to the endpoint reads the grant from the store (so a revocation made by
//     another server applies at once); sessions are cached per grant only to avoid minting one
//     per call, and renewed once half their lifetime has passed, before the SDKs refresh.
//   - A session never outlives its grant.
package jobcreds
