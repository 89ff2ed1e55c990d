package arn

// CloudFormationStack returns a stack's ARN: arn:aws:cloudformation:REGION:ACCOUNT:stack/NAME/ID.
func CloudFormationStack(region, account, name, id string) string {
	return "arn:aws:cloudformation:" + region + ":" + account + ":stack/" + name + "/" + id
}

// CloudFormationChangeSet returns a change set's ARN.
func CloudFormationChangeSet(region, account, name, id string) string {
	return "arn:aws:cloudformation:" + region + ":" + account + ":changeSet/" + name + "/" + id
}
