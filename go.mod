module github.com/slipway-ml/slipway

go 1.26.8
