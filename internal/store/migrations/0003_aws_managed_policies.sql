-- AWS managed policies that scripts written for AWS attach by ARN. Their documents are Slipway's:
-- they grant what the policy's name promises over the services Slipway implements.
INSERT INTO iam_managed_policies (account, name, id, arn, path, description, document, created_at, updated_at) VALUES
('aws', 'AdministratorAccess', 'ANPAAWSADMINISTRATOR', 'arn:aws:iam::aws:policy/AdministratorAccess', '/',
 'Provides full access to every service and resource.',
 '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}', 0, 0),
('aws', 'ReadOnlyAccess', 'ANPAAWSREADONLYACCES', 'arn:aws:iam::aws:policy/ReadOnlyAccess', '/',
 'Provides read-only access to every service Slipway implements.',
 '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sagemaker:Describe*","sagemaker:List*","sagemaker:Get*","sagemaker:Search","iam:Get*","iam:List*","organizations:Describe*","organizations:List*","sts:GetCallerIdentity"],"Resource":"*"}]}', 0, 0),
('aws', 'AmazonSageMakerFullAccess', 'ANPAAWSSAGEMAKERFULL', 'arn:aws:iam::aws:policy/AmazonSageMakerFullAccess', '/',
 'Provides full access to SageMaker.',
 '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:*","Resource":"*"}]}', 0, 0),
('aws', 'AmazonSageMakerReadOnly', 'ANPAAWSSAGEMAKERREAD', 'arn:aws:iam::aws:policy/AmazonSageMakerReadOnly', '/',
 'Provides read-only access to SageMaker.',
 '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sagemaker:Describe*","sagemaker:List*","sagemaker:Get*","sagemaker:Search"],"Resource":"*"}]}', 0, 0);
