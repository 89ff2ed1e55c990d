package arn

// CloudFormationStackSet returns a stack set's ARN: arn:aws:cloudformation:REGION:ACCOUNT:stackset/NAME:ID.
func CloudFormationStackSet(region, account, name, id string) string {
	return "arn:aws:cloudformation:" + region + ":" + account + ":stackset/" + name + ":" + id
}

// Role returns the ARN of a role with path "/": arn:aws:iam::ACCOUNT:role/NAME.
func Role(account, name string) string { return "arn:aws:iam::" + account + ":role/" + name }
