package awsapi

// serviceErrors are the error vocabularies of the embedded models' services, by name, as their
// packages declare them; newTestEnv and testService serve them. Those packages import awsapi, so
// this package's own tests cannot import them: TestMain (main_test.go, package awsapi_test)
// builds each service through its package's constructor and hands the vocabularies over with
// SetServiceErrors before any test runs.
var serviceErrors map[string]ErrorCodes

// SetServiceErrors is for TestMain only.
func SetServiceErrors(codes map[string]ErrorCodes) { serviceErrors = codes }
