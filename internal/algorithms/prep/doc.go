// Package prep is the built-in tabular preprocessing step: it reads a CSV file with a header, splits
// its rows into train, validation and test sets, fits a [Transform] on the train rows and writes
// headerless CSV files with the label first (the SageMaker convention the built-in algorithms read),
// plus transform.json, the fitted transform, so the same preprocessing can be applied to raw rows at
// inference time.
//
// The transform, fitted on the train split only (so validation and test rows never leak into it):
//   - numeric columns: missing cells (empty, "NA", "NaN", "?" — any case) are replaced by the column's
//     median, then the column is standardised with the mean and population standard deviation of the
//     imputed column (a constant column is only centred), as scikit-learn's SimpleImputer(median)
//     followed by StandardScaler does;
//   - categorical columns (named by the caller): missing cells become the most frequent category
//     (ties go to the lexicographically smallest), then the column is one-hot encoded over the sorted
//     categories seen in training. A category unseen in training encodes as all zeros (scikit-learn's
//     handle_unknown="ignore");
//   - the label column is moved first. A numeric label is kept as is; a label with any non-numeric
//     value is encoded as the index of its class among the sorted distinct classes (0..K-1), and the
//     classes are recorded in the transform.
//
// Output columns: the label, then the numeric columns in input order, then each categorical column's
// one-hot block in input order.
//
// Invariants: the split is a pure function of the row count, the fractions, the seed (and the labels,
// when stratified), so the same input and seed give byte-identical outputs on every run and machine;
// a transform read back from its JSON applies exactly as the fitted one; every error about the input
// is errs.Invalid and names the file, line and column.
package prep
