package arn

import "testing"

func TestLogARNs(t *testing.T) {
	g := LogGroup("aws", "us-east-1", "111122223333", "/aws/sagemaker/TrainingJobs")
	if want := "arn:aws:logs:us-east-1:111122223333:log-group:/aws/sagemaker/TrainingJobs"; g != want {
		t.Errorf("LogGroup = %q, want %q", g, want)
	}
	s := LogStream("aws", "us-east-1", "111122223333", "/aws/sagemaker/TrainingJobs", "t1/algo-1-1700000000")
	if want := g + ":log-stream:t1/algo-1-1700000000"; s != want {
		t.Errorf("LogStream = %q, want %q", s, want)
	}
	if !Match(LogGroupStreams("aws", "us-east-1", "111122223333", "/aws/sagemaker/TrainingJobs"), s) {
		t.Errorf("the group's streams pattern does not match its stream %s", s)
	}
	for _, tc := range []struct {
		in, group string
		ok        bool
	}{
		{g, "/aws/sagemaker/TrainingJobs", true},
		{g + ":*", "/aws/sagemaker/TrainingJobs", true},
		{s, "", false},
		{"arn:aws:logs:us-east-1:111122223333:log-group:", "", false},
		{"arn:aws:logs:us-east-1:111122223333:log-group:*", "", false},
		{"arn:aws:logs::111122223333:log-group:g", "", false},
		{"arn:aws:s3:us-east-1:111122223333:log-group:g", "", false},
		{"my-group", "", false},
	} {
		a, group, ok := LogGroupOf(tc.in)
		if ok != tc.ok || group != tc.group || ok && a.Account != "111122223333" {
			t.Errorf("LogGroupOf(%q) = %+v, %q, %v; want %q, %v", tc.in, a, group, ok, tc.group, tc.ok)
		}
	}
}
