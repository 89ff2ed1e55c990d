package xgboost

// forest is the compiled prediction form of a Booster.
type forest struct{}
