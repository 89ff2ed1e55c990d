package evaluate

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/slipway-ml/slipway/internal/algorithms/metric"
	"github.com/slipway-ml/slipway/internal/atomicfile"
	"github.com/slipway-ml/slipway/internal/errs"
)

// Value is one metric.
type Value struct {
	Value             float64  `json:"value"`
	StandardDeviation *float64 `json:"standard_deviation,omitempty"`
}

// MarshalJSON writes non-finite numbers as null.
func (v Value) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"value":`)
	b.WriteString(number(v.Value))
	if v.StandardDeviation != nil {
		b.WriteString(`,"standard_deviation":`)
		b.WriteString(number(*v.StandardDeviation))
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func number(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "null"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// ConfusionMatrix counts rows by actual class, then predicted class (both as decimal strings).
type ConfusionMatrix map[string]map[string]int

// Report is evaluation.json: exactly one of its fields is set.
type Report struct {
	Regression *Regression `json:"regression_metrics,omitempty"`
	Binary     *Binary     `json:"binary_classification_metrics,omitempty"`
	Multiclass *Multiclass `json:"multiclass_classification_metrics,omitempty"`
}

// Regression holds the regression metrics.
type Regression struct {
	MSE  Value `json:"mse"`
	RMSE Value `json:"rmse"`
	MAE  Value `json:"mae"`
	R2   Value `json:"r2"`
}

// Binary holds the binary classification metrics.
type Binary struct {
	ConfusionMatrix   ConfusionMatrix `json:"confusion_matrix"`
	Accuracy          Value           `json:"accuracy"`
	Precision         Value           `json:"precision"`
	Recall            Value           `json:"recall"`
	F0_5              Value           `json:"f0_5"`
	F1                Value           `json:"f1"`
	F2                Value           `json:"f2"`
	AUC               Value           `json:"auc"`
	TruePositiveRate  Value           `json:"true_positive_rate"`
	TrueNegativeRate  Value           `json:"true_negative_rate"`
	FalsePositiveRate Value           `json:"false_positive_rate"`
	FalseNegativeRate Value           `json:"false_negative_rate"`
}

// Multiclass holds the multiclass classification metrics.
type Multiclass struct {
	ConfusionMatrix   ConfusionMatrix `json:"confusion_matrix"`
	Accuracy          Value           `json:"accuracy"`
	WeightedPrecision Value           `json:"weighted_precision"`
	WeightedRecall    Value           `json:"weighted_recall"`
	WeightedF0_5      Value           `json:"weighted_f0_5"`
	WeightedF1        Value           `json:"weighted_f1"`
	WeightedF2        Value           `json:"weighted_f2"`
}

// RegressionMetrics computes the regression report of predictions pred for labels y.
func RegressionMetrics(y, pred []float32) (*Regression, error) {
	if err := check(y, pred, 1); err != nil {
		return nil, err
	}
	n := float64(len(y))
	var sumRes, sumAbs, sumY float64
	for i := range y {
		r := float64(y[i]) - float64(pred[i])
		sumRes += r
		sumAbs += math.Abs(r)
		sumY += float64(y[i])
	}
	meanRes, meanAbs, meanY := sumRes/n, sumAbs/n, sumY/n
	var sse, ssRes, ssAbs, ssTot float64
	for i := range y {
		r := float64(y[i]) - float64(pred[i])
		sse += r * r
		ssRes += (r - meanRes) * (r - meanRes)
		ssAbs += (math.Abs(r) - meanAbs) * (math.Abs(r) - meanAbs)
		ssTot += (float64(y[i]) - meanY) * (float64(y[i]) - meanY)
	}
	mse := sse / n
	sdRes, sdAbs := math.Sqrt(ssRes/n), math.Sqrt(ssAbs/n)
	r2 := 1 - sse/ssTot
	if ssTot == 0 { // scikit-learn's r2_score: 1 for a perfect fit of a constant, else 0
		r2 = 0
		if sse == 0 {
			r2 = 1
		}
	}
	return &Regression{
		MSE:  Value{Value: mse, StandardDeviation: &sdRes},
		RMSE: Value{Value: metric.RMSE(y, pred, nil), StandardDeviation: &sdRes},
		MAE:  Value{Value: metric.MAE(y, pred, nil), StandardDeviation: &sdAbs},
		R2:   Value{Value: r2},
	}, nil
}

// BinaryMetrics computes the binary report of probabilities prob (of class 1) for labels y in {0, 1}.
func BinaryMetrics(y, prob []float32) (*Binary, error) {
	if err := check(y, prob, 1); err != nil {
		return nil, err
	}
	var tp, tn, fp, fn float64
	for i, l := range y {
		if l != 0 && l != 1 {
			return nil, errs.E(errs.Invalid, "test row %d: label %v; a binary classifier is evaluated on labels 0 and 1", i+1, l)
		}
		switch predicted := prob[i] >= 0.5; {
		case l == 1 && predicted:
			tp++
		case l == 1:
			fn++
		case predicted:
			fp++
		default:
			tn++
		}
	}
	precision, recall := ratio(tp, tp+fp), ratio(tp, tp+fn)
	return &Binary{
		ConfusionMatrix: ConfusionMatrix{
			"0": {"0": int(tn), "1": int(fp)},
			"1": {"0": int(fn), "1": int(tp)},
		},
		Accuracy:          Value{Value: (tp + tn) / float64(len(y))},
		Precision:         Value{Value: precision},
		Recall:            Value{Value: recall},
		F0_5:              Value{Value: fbeta(0.5, precision, recall)},
		F1:                Value{Value: fbeta(1, precision, recall)},
		F2:                Value{Value: fbeta(2, precision, recall)},
		AUC:               Value{Value: metric.AUC(y, prob, nil)},
		TruePositiveRate:  Value{Value: recall},
		TrueNegativeRate:  Value{Value: ratio(tn, tn+fp)},
		FalsePositiveRate: Value{Value: ratio(fp, fp+tn)},
		FalseNegativeRate: Value{Value: ratio(fn, fn+tp)},
	}, nil
}

// MulticlassMetrics computes the multiclass report of probabilities prob (row-major, k per row) for
// labels y in 0..k-1.
func MulticlassMetrics(y, prob []float32, k int) (*Multiclass, error) {
	if k < 2 {
		return nil, errs.E(errs.Invalid, "a multiclass model needs at least 2 classes, got %d", k)
	}
	if err := check(y, prob, k); err != nil {
		return nil, err
	}
	counts := make([][]float64, k) // counts[actual][predicted]
	for c := range counts {
		counts[c] = make([]float64, k)
	}
	correct := 0.0
	for i, l := range y {
		c := int(l)
		if float32(c) != l || c < 0 || c >= k {
			return nil, errs.E(errs.Invalid, "test row %d: label %v; the model has classes 0 to %d", i+1, l, k-1)
		}
		row := prob[i*k : (i+1)*k]
		best := 0
		for j, p := range row {
			if p > row[best] {
				best = j
			}
		}
		counts[c][best]++
		if best == c {
			correct++
		}
	}
	m := &Multiclass{ConfusionMatrix: ConfusionMatrix{}, Accuracy: Value{Value: correct / float64(len(y))}}
	var wp, wr, wf05, wf1, wf2 float64
	for c := 0; c < k; c++ {
		var support, predicted float64
		row := make(map[string]int, k)
		for j := 0; j < k; j++ {
			support += counts[c][j]
			predicted += counts[j][c]
			row[strconv.Itoa(j)] = int(counts[c][j])
		}
		m.ConfusionMatrix[strconv.Itoa(c)] = row
		p, r := ratio(counts[c][c], predicted), ratio(counts[c][c], support)
		wp += support * p
		wr += support * r
		wf05 += support * fbeta(0.5, p, r)
		wf1 += support * fbeta(1, p, r)
		wf2 += support * fbeta(2, p, r)
	}
	n := float64(len(y))
	m.WeightedPrecision = Value{Value: wp / n}
	m.WeightedRecall = Value{Value: wr / n}
	m.WeightedF0_5 = Value{Value: wf05 / n}
	m.WeightedF1 = Value{Value: wf1 / n}
	m.WeightedF2 = Value{Value: wf2 / n}
	return m, nil
}

func check(y, pred []float32, k int) error {
	if len(y) == 0 {
		return errs.E(errs.Invalid, "the test set is empty")
	}
	if len(pred) != len(y)*k {
		return errs.E(errs.Internal, "%d predictions for %d rows of %d outputs", len(pred), len(y), k)
	}
	for i, l := range y {
		if math.IsNaN(float64(l)) {
			return errs.E(errs.Invalid, "test row %d has no label", i+1)
		}
	}
	return nil
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func fbeta(beta, p, r float64) float64 {
	b2 := beta * beta
	return ratio((1+b2)*p*r, b2*p+r)
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return errs.E(errs.Internal, "cannot encode the evaluation report", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteFile writes the report to path atomically (temporary file in the same directory, synced,
// renamed), creating the directory if needed.
func (r *Report) WriteFile(path string) error {
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return errs.E(errs.Internal, "cannot create the directory of %s", path, err)
	}
	return atomicfile.Write(path, b.Bytes(), 0o644)
}
