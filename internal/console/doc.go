// Package console is Slipway's web console: server-rendered HTML pages over the same domain
// services the AWS API calls, served by the same binary under /console/.
//
// Invariants:
//   - Every page and every action acts as the signed-in principal: the session holds an access
//     key id, and each request looks the key up again through the identity service (a deleted
//     or expired key ends the session). The domain services authorize as they do for the API;
//     the console never decides on its own, except for the audit page, which it authorizes
//     through the identity service as cloudtrail:LookupEvents.
//   - Every domain call a page makes leaves an audit record, committed with the change it
//     makes (the audit trail's pending record) or recorded after a read or a refusal.
//   - Sessions are server-side records keyed by the SHA-256 of a random id; the cookie is
//     HttpOnly, SameSite=Strict, Secure over TLS. A session ends after its idle timeout, its
//     absolute timeout, or on sign-out.
//   - Actions are POSTs carrying the session's CSRF token; a missing or wrong token is refused
//     with 403 before anything is called. One-time sign-in links work once, for minutes.
//   - Every output goes through html/template (pages) or encoding/json (live updates).
package console
