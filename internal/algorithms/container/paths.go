package container

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/slipway-ml/slipway/internal/atomicfile"
)

// EnvOptML names the directory a job should use as /opt/ml when the executor cannot remap it (the
// executor's contract sets it in every job).
const EnvOptML = "JOB_OPT_ML"

// OptML is the container contract's root.
const OptML = "/opt/ml"

// Paths are the directories of the container contract.
type Paths struct {
	InputConfig string // hyperparameters.json, inputdataconfig.json, resourceconfig.json
	InputData   string // one directory per channel
	Model       string // what the platform packs into model.tar.gz
	Output      string // output/failure
	OutputData  string // further output the platform uploads
	Code        string // script mode: the unpacked source directory

	getenv func(string) string // for SM_CHANNEL_<NAME>
}

// PathsFromEnv returns the contract's paths under root ("" = $JOB_OPT_ML, else /opt/ml), with the
// SageMaker training toolkit's variables overriding each one: SM_INPUT_CONFIG_DIR, SM_INPUT_DIR (its
// data/), SM_MODEL_DIR, SM_OUTPUT_DIR, SM_OUTPUT_DATA_DIR, SM_CHANNEL_<NAME>, SM_MODULE_DIR... getenv
// is os.Getenv outside tests.
func PathsFromEnv(root string, getenv func(string) string) Paths {
	if root == "" {
		root = getenv(EnvOptML)
	}
	if root == "" {
		root = OptML
	}
	or := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	input := or("SM_INPUT_DIR", filepath.Join(root, "input"))
	output := or("SM_OUTPUT_DIR", filepath.Join(root, "output"))
	p := Paths{
		InputConfig: or("SM_INPUT_CONFIG_DIR", filepath.Join(input, "config")),
		InputData:   filepath.Join(input, "data"),
		Model:       or("SM_MODEL_DIR", filepath.Join(root, "model")),
		Output:      output,
		OutputData:  or("SM_OUTPUT_DATA_DIR", filepath.Join(output, "data")),
		Code:        filepath.Join(root, "code"),
		getenv:      getenv,
	}
	return p
}

// Channel is the directory of the named input channel.
func (p Paths) Channel(name string) string {
	if p.getenv != nil {
		if d := p.getenv("SM_CHANNEL_" + strings.ToUpper(name)); d != "" {
			return d
		}
	}
	return filepath.Join(p.InputData, name)
}

// WriteFailure writes msg to output/failure, where the platform reads the job's FailureReason.
func (p Paths) WriteFailure(msg string) error {
	if err := os.MkdirAll(p.Output, 0o755); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(p.Output, "failure"), []byte(msg), 0o644)
}
