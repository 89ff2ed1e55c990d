// Package fleet is the data plane of endpoints: per endpoint, production variants with weights,
// each with N instances of its model (separate runtimes: in-process models or child processes
// under SageMaker's serving contract), and the routing between them.
//
// Routing: TargetVariant names the variant; without it a variant is drawn at random in
// proportion to the weights, among the variants that have a healthy instance. Within a variant
// the request goes to the healthy instance with the fewest outstanding requests (ties broken at
// random).
//
// Blue/green (staging.go): Stage starts a second fleet beside the live one, Shift sends it a
// share of the requests, Promote makes it live, Discard drops it — the data-plane steps of
// ALL_AT_ONCE, CANARY, LINEAR and rolled-back updates; their timing and alarms are the caller's.
//
// Scale (UpdateEndpointWeightsAndCapacities' instance counts) adds healthy instances to, or
// drains the last ones from, the live fleet's variants in place; SetWeights changes weights.
//
// Invariants:
//
//   - Deploy (and Stage) install a fleet atomically: the new instances are started and
//     must all answer Ping before one request reaches them; until then the old fleet serves.
//     A fleet that cannot become healthy is closed again and the old one stays, untouched; the
//     error names the variant, the instance and why.
//   - A replaced, discarded or removed fleet takes no new request from the moment of the swap; its
//     requests in flight finish (up to Options.Drain) before its instances are closed. No request
//     ever reaches a closed instance.
//   - An instance that fails Ping, or fails a request with ErrUnavailable (it did not take the
//     request: its process is down or restarting), is out of the pool until Ping succeeds again;
//     such a request is retried on another instance.
//   - A staged fleet with no healthy instance (for the request's target variant) takes none of
//     its share: the live fleet answers instead, so a canary that fails its health checks
//     fails no request while its rollout rolls it back.
//   - A container instance's child process that dies is restarted with backoff by the instance
//     itself; while it is down its Ping fails, so it is out of the pool.
//
// The package uses net/http (the container runtime) and the executor interface; it is a backend
// in the import layers: only the composition root wires it, and the serving domain reaches it
// through a port of its own.
package fleet
