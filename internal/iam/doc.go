// Package iam is Slipway's IAM policy language and its evaluation: it parses identity, resource,
// trust and service control policies exactly as AWS documents them, and decides requests with
// AWS's evaluation logic (explicit deny, SCP levels, same- and cross-account rules, permissions
// boundaries, session policies, conditions with IfExists and ForAnyValue/ForAllValues, policy
// variables).
//
// It is a leaf: no storage, no transport, no clock of its own (the caller passes the time to
// Request.WithGlobalKeys). It imports only internal/errs and internal/arn (wildcard and ARN
// matching).
//
// Invariants:
//
//   - Deny by default: the zero Decision, an empty PolicySet and a request nobody allows are all
//     ImplicitDeny. Only an Allow statement that matches can allow.
//   - An explicit Deny in any policy that applies wins over every Allow.
//   - A document that does not parse is never a Policy, so it can never allow: every parse error
//     is errs.Invalid with code MalformedPolicyDocument and a message naming the element at fault
//     (statement indexes are 0-based, e.g. "Statement[1] (Sid \"X\"): Effect must be Allow or Deny").
//   - Every policy kind's rules are checked at parse time (ParseIdentity, ParseResource,
//     ParseTrust, ParseSCP); a resource policy statement that names nobody cannot be stored.
//   - Every SCP level must allow; SCPs never grant on their own.
//   - Cross-account access needs both the caller's identity policies and the resource policy.
//   - Principal-derived condition keys (aws:PrincipalArn, aws:PrincipalTag/*, …) come only from
//     the Principal, never from caller-supplied context: WithGlobalKeys overwrites them, and
//     Evaluate denies a request that was not prepared by WithGlobalKeys.
//   - Policies are immutable after parsing and safe to evaluate from many goroutines; matching
//     never allocates for policies without variables and never recurses, so hostile patterns
//     cannot blow the stack.
//   - Policy variables (${aws:username}, ${aws:PrincipalTag/team}, ${*}, ${?}, ${$}) are
//     substituted only in Version 2012-10-17 policies, only in Resource and in string and ARN
//     condition values; substituted text never acts as a wildcard. A variable with no value makes
//     its element not match.
package iam
