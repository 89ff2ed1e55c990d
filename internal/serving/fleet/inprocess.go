package fleet

import (
	"context"

	"github.com/slipway-ml/slipway/internal/inference"
)

// ModelLoader returns the Loader of the in-process runtime: each instance is its own model
// loaded by load from the model directory (inference.LoadDir), so instances share nothing.
func ModelLoader(load func(dir string) (inference.Model, error)) Loader {
	return func(ctx context.Context, m ModelSpec, _ int) (Instance, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		model, err := load(m.ModelDir)
		if err != nil {
			return nil, err
		}
		return inProcess{model}, nil
	}
}

// inProcess is a model of this process: always healthy while it is open.
type inProcess struct{ inference.Model }

func (inProcess) Ping(context.Context) error { return nil }
