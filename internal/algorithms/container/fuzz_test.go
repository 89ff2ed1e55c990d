package container

import (
	"testing"
)

func FuzzParseHyperparameters(f *testing.F) {
	f.Add([]byte(`{"num_round": "10", "eta": 0.2, "verbose": true}`))
	f.Add([]byte(`{"sagemaker_program": "\"train.py\""}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		hp, err := ParseHyperparameters(data)
		if err != nil {
			return
		}
		for _, v := range hp {
			_ = decodeHP(v)
		}
	})
}

func FuzzDataFormat(f *testing.F) {
	for _, s := range []string{"text/csv", "text/csv; label_size=1", "csv", "libsvm", "text/x-libsvm", "", "application/json"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ct string) {
		if format, err := DataFormat(ct); err == nil && format != "csv" && format != "libsvm" {
			t.Fatalf("DataFormat(%q) = %q", ct, format)
		}
	})
}
