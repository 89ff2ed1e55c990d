package identity

import (
	"strings"
	"testing"
)

// FuzzDeletionTaskID: a deletion task id parses only in the form DeleteServiceLinkedRole
// writes, and its parts put back together give the id again.
func FuzzDeletionTaskID(f *testing.F) {
	for _, s := range []string{
		"task/aws-service-role/stacksets.cloudformation.amazonaws.com/AWSServiceRoleForCloudFormationStackSetsOrgAdmin/AROA1234567890",
		"task/aws-service-role/a.b/R/1", "task/not-a-task", "task/aws-service-role/", "task/aws-service-role/s/r/i/j",
		"task/aws-service-role/S/r/i", "task/aws-service-role/svc/r/", "task/aws-service-role/svc/ro le/i", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, task string) {
		service, name, id, ok := parseDeletionTask(task)
		if !ok {
			return
		}
		if got := deletionTaskPrefix + service + "/" + name + "/" + id; got != task {
			t.Fatalf("%q parsed as %q %q %q, which make %q", task, service, name, id, got)
		}
		for _, p := range []string{service, name, id} {
			if p == "" || strings.Contains(p, "/") {
				t.Fatalf("%q: part %q", task, p)
			}
		}
		if !engineRE.MatchString(service) || len(name) > 64 {
			t.Fatalf("%q: service %q or name %q out of bounds", task, service, name)
		}
	})
}

func TestParseDeletionTask(t *testing.T) {
	for task, want := range map[string]bool{
		"task/aws-service-role/stacksets.cloudformation.amazonaws.com/AWSServiceRoleForCloudFormationStackSetsOrgAdmin/AROA1": true,
		"task/aws-service-role/svc/r/i/j": false,
		"task/aws-service-role/svc/r":     false,
		"task/aws-service-role/SVC/r/i":   false,
		"task/other/svc/r/i":              false,
	} {
		if _, _, _, ok := parseDeletionTask(task); ok != want {
			t.Errorf("parseDeletionTask(%q) ok = %v, want %v", task, ok, want)
		}
	}
}
