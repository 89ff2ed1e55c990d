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
//   - Every policy kind's rules are checked at parse time; a resource policy statement that
//     names nobody cannot be stored.
//   - Size limits are checked once, where a document is written: Validate(use, doc) applies the
//     quota of that Use (managed 6,144; user inline 2,048, group 5,120, role 10,240 for all of a
//     principal's inline policies, which the caller adds up with Length; trust 2,048; session
//     2,048; SCP 5,120; resource 20,480) and the grammar of use.Kind(). Decisions parse stored
//     documents with ParseStored(kind, doc), which has no size limit, so a document accepted
//     at write time always parses, identically, at decision time (FuzzWriteThenDecide).
//     ParseKind and its kind-named wrappers keep one limit per kind and are deprecated.
//   - Fail closed is the caller's duty too: a stored document that does not parse at decision
//     time must make the decision deny, never be skipped, or its Deny statements would be lost.
//     Put FailClosed(name) in its place: it denies explicitly in every slot of a PolicySet.
//   - Condition keys are case-insensitive. When several request keys (or principal tags)
//     differ only in letter case, all are kept in byte order: a condition holds in a Deny
//     statement if it holds for any of their values, in an Allow only if it holds for all of
//     them, so the decision is the same every time and a collision never turns a Deny into an
//     Allow. Policy variables reading such a key are decided per alternative the same way.
//   - The caller's source address reaches IpAddress/NotIpAddress conditions as the context key
//     KeySourceIP ("aws:SourceIp"), IPv4 or IPv6 without a port.
//   - Evaluate agrees with a reference evaluator written from AWS's documented logic on random
//     policy sets (TestDifferential, FuzzDifferential); an explicit Deny never loses.
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
