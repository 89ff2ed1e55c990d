package arn

// Alarm returns a CloudWatch alarm's ARN: arn:aws:cloudwatch:REGION:ACCOUNT:alarm:NAME.
func Alarm(partition, region, account, name string) string {
	return ARN{Partition: partition, Service: "cloudwatch", Region: region, Account: account, Resource: "alarm:" + name}.String()
}
