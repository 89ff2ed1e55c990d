package images

import (
	"strings"

	"github.com/slipway-ml/slipway/internal/errs"
)

// Serving runtime kinds (Runtime.Kind of ResolveServing).
const (
	KindInProcess = "in-process" // the server's built-in runtime loads the model itself; no Command
	// KindCommand: a serve command started per instance under SageMaker's serving contract.
)

// ServeArg is the argument SageMaker starts a serving container's entrypoint with
// (`docker run <image> serve`); ResolveServing appends it to a mapping's command.
const ServeArg = "serve"

// EnvProgram is the variable of a model's Environment that asks SageMaker's framework images for
// script-mode serving (a user's inference script).
const EnvProgram = "SAGEMAKER_PROGRAM"

// ResolveServing returns how a model with image and environment env is served here:
//   - a user mapping: its command with ServeArg appended, and its environment (Kind KindCommand);
//     the caller starts it per instance with the serving contract (SAGEMAKER_BIND_TO_PORT, /ping,
//     /invocations, the model at /opt/ml/model);
//   - SageMaker's XGBoost images without script mode (env has no SAGEMAKER_PROGRAM), and the
//     built-in images slipway/xgboost and slipway/linear: Kind KindInProcess, no command;
//   - anything else: an error that says what to map.
func (t *Table) ResolveServing(image string, env map[string]string) (Runtime, error) {
	for _, m := range t.mappings {
		if m.re.MatchString(image) {
			cmd := append(append([]string(nil), m.Command...), ServeArg)
			return Runtime{Command: cmd, Env: copyEnv(m.Env), Kind: KindCommand}, nil
		}
	}
	inProcess := Runtime{Env: map[string]string{}, Kind: KindInProcess}
	if ref, why := parseSageMaker(image); why == "" {
		switch {
		case ref.repo == "sagemaker-scikit-learn":
			return Runtime{}, unknown(image, "scikit-learn models are served by their inference script")
		case env[EnvProgram] != "":
			return Runtime{}, unknown(image, "script-mode serving ("+EnvProgram+" is set) runs the model's inference script")
		}
		return inProcess, nil
	} else if why != notSageMaker {
		return Runtime{}, unknown(image, why)
	}
	if name, ok := strings.CutPrefix(image, "slipway/"); ok {
		name, _, _ = strings.Cut(name, ":")
		switch name {
		case "xgboost", "linear":
			return inProcess, nil
		case "prep", "evaluate":
			return Runtime{}, errs.E(errs.Invalid, "image %s runs in Processing jobs; it cannot serve a model", image)
		}
		return Runtime{}, unknown(image, "the built-in images that serve models are slipway/xgboost and slipway/linear")
	}
	return Runtime{}, unknown(image, "")
}
