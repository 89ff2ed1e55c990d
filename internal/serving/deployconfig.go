package serving

// DeploymentConfig is an endpoint's DeploymentConfig as SageMaker's API and CloudFormation's
// AWS::SageMaker::Endpoint spell it (the same field names in both), decoded from JSON by
// every edge that receives one; Policy turns it into the domain's DeploymentPolicy.
type DeploymentConfig struct {
	BlueGreenUpdatePolicy *struct {
		TrafficRoutingConfiguration struct {
			Type                  string
			WaitIntervalInSeconds int
			CanarySize            *CapacitySizeConfig
			LinearStepSize        *CapacitySizeConfig
		}
		TerminationWaitInSeconds         int
		MaximumExecutionTimeoutInSeconds int
	}
	RollingUpdatePolicy *struct {
		MaximumBatchSize                 CapacitySizeConfig
		WaitIntervalInSeconds            int
		MaximumExecutionTimeoutInSeconds int
		RollbackMaximumBatchSize         *CapacitySizeConfig
	}
	AutoRollbackConfiguration *struct {
		Alarms []struct{ AlarmName string }
	}
}

// CapacitySizeConfig is a CapacitySize as the API spells it.
type CapacitySizeConfig struct {
	Type  string
	Value int
}

func (c *CapacitySizeConfig) domain() *CapacitySize {
	if c == nil {
		return nil
	}
	return &CapacitySize{Type: c.Type, Value: c.Value}
}

// Policy decodes a DeploymentConfig (nil: none was given). A policy it returns is checked
// further by UpdateEndpoint.
func (dc *DeploymentConfig) Policy() (*DeploymentPolicy, error) {
	if dc == nil {
		return nil, nil
	}
	p := &DeploymentPolicy{}
	if ar := dc.AutoRollbackConfiguration; ar != nil {
		if len(ar.Alarms) > 10 {
			return nil, invalid("DeploymentConfig.AutoRollbackConfiguration.Alarms: at most 10 alarms")
		}
		for _, a := range ar.Alarms {
			if a.AlarmName == "" || len(a.AlarmName) > 255 {
				return nil, invalid("DeploymentConfig.AutoRollbackConfiguration.Alarms: an AlarmName is 1 to 255 characters")
			}
			p.Alarms = append(p.Alarms, a.AlarmName)
		}
	}
	if b := dc.BlueGreenUpdatePolicy; b != nil {
		t := b.TrafficRoutingConfiguration
		bg := &BlueGreen{Type: t.Type, WaitInterval: t.WaitIntervalInSeconds, TerminationWait: b.TerminationWaitInSeconds,
			MaxExecution: b.MaximumExecutionTimeoutInSeconds}
		switch {
		case t.CanarySize != nil && t.Type != Canary:
			return nil, invalid("DeploymentConfig.BlueGreenUpdatePolicy.TrafficRoutingConfiguration: CanarySize goes with Type CANARY, not %s", t.Type)
		case t.LinearStepSize != nil && t.Type != Linear:
			return nil, invalid("DeploymentConfig.BlueGreenUpdatePolicy.TrafficRoutingConfiguration: LinearStepSize goes with Type LINEAR, not %s", t.Type)
		case t.CanarySize != nil:
			bg.Size = t.CanarySize.domain()
		case t.LinearStepSize != nil:
			bg.Size = t.LinearStepSize.domain()
		}
		p.BlueGreen = bg
	}
	if r := dc.RollingUpdatePolicy; r != nil {
		p.Rolling = &Rolling{MaxBatch: *r.MaximumBatchSize.domain(), WaitInterval: r.WaitIntervalInSeconds,
			MaxExecution: r.MaximumExecutionTimeoutInSeconds, RollbackMaxBatch: r.RollbackMaximumBatchSize.domain()}
	}
	if p.BlueGreen == nil && p.Rolling == nil {
		if len(p.Alarms) > 0 {
			return nil, invalid("DeploymentConfig.AutoRollbackConfiguration needs a BlueGreenUpdatePolicy or a RollingUpdatePolicy whose steps the alarms watch")
		}
		return nil, nil // only AutoRollbackConfiguration without alarms: all at once
	}
	return p, nil
}
