package awsapi

// patternWords says in words what the common patterns of the API models accept, so a
// ValidationException explains the rule instead of only quoting a regular expression (which
// stays in the message, as detail). Keys are the models' patterns, verbatim.
var patternWords = map[string]string{
	// SageMaker names and ARNs.
	`[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`: "1 to 63 letters, digits and hyphens, starting and ending with a letter or digit",
	`^[a-zA-Z0-9](-*[a-zA-Z0-9])*`:     "letters, digits and hyphens, starting and ending with a letter or digit",
	`[a-zA-Z0-9](-*[a-zA-Z0-9])*`:      "letters, digits and hyphens, starting and ending with a letter or digit",
	`[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*`:     "letters and digits, in groups joined by single hyphens",
	`(arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:[a-z\-]*\/)?([a-zA-Z0-9]([a-zA-Z0-9-]){0,62})(?<!-)`:                "a name of 1 to 63 letters, digits and hyphens (starting with a letter or digit, not ending with a hyphen), or the ARN of one",
	`(arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:[a-z\-]*\/)?([a-zA-Z0-9]([a-zA-Z0-9-]){0,62})(?<!-)(\/[0-9]{1,9})?`: "a name of 1 to 63 letters, digits and hyphens (starting with a letter or digit, not ending with a hyphen), or the ARN of one, optionally followed by /VERSION",
	`arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]{9,16}:[0-9]{12}:model-package/[\S]{1,2048}`:                                     "a model package ARN: arn:aws:sagemaker:REGION:ACCOUNT:model-package/GROUP/VERSION",
	`arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]{9,16}:[0-9]{12}:model-package-group/[\S]{1,2048}`:                               "a model package group ARN: arn:aws:sagemaker:REGION:ACCOUNT:model-package-group/NAME",
	`arn:aws[a-z-]*:sagemaker:[a-z0-9-]*:[0-9]{12}:.+`:                                                                    "a SageMaker ARN: arn:aws:sagemaker:REGION:ACCOUNT:RESOURCE",
	`arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+`:                                                            "an IAM role ARN: arn:aws:iam::ACCOUNT:role/NAME",
	`(https|s3)://([^/]+)/?(.*)`:             "an s3:// or https:// URL",
	`[Ss][Hh][Aa]256:[0-9a-fA-F]{64}`:        "sha256: followed by 64 hexadecimal digits",
	`[a-zA-Z_][a-zA-Z0-9_]*`:                 "letters, digits and underscores, not starting with a digit",
	`[a-zA-Z_][a-zA-Z0-9_]{0,1023}`:          "1 to 1024 letters, digits and underscores, not starting with a digit",
	`[\S]+`:                                  "one or more characters, none of them white space",
	`[\p{L}\p{Z}\p{N}_.:/=+\-@]*`:            "letters, digits, spaces and the characters _ . : / = + - @",
	`[\p{L}\p{Z}\p{N}_.:/=+\-@]+`:            "one or more letters, digits, spaces and the characters _ . : / = + - @",
	`^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`:        "letters, digits, spaces and the characters _ . : / = + - @",
	`([\p{L}\p{Z}\p{N}_.:/=+\-@]*)`:          "letters, digits, spaces and the characters _ . : / = + - @",
	`([\p{L}\p{Z}\p{N}_.:\/=+\-@]*)${1,256}`: "letters, digits, spaces and the characters _ . : / = + - @",
	`([\p{L}\p{Z}\p{N}_.:\/=+\-@]*)${1,128}`: "letters, digits, spaces and the characters _ . : / = + - @",

	// IAM and STS.
	`[\w+=,.@-]+`:      "one or more letters, digits and the characters _ + = , . @ -",
	`[\w+=,.@-]*`:      "letters, digits and the characters _ + = , . @ -",
	`[\w+=,.@-]{1,64}`: "1 to 64 letters, digits and the characters _ + = , . @ -",
	`[\w+=/:,.@-]*`:    "letters, digits and the characters _ + = / : , . @ -",
	`[\w+=,.@:-]*`:     "letters, digits and the characters _ + = , . @ : -",
	`[\w+=,.@:\/-]*`:   "letters, digits and the characters _ + = , . @ : / -",
	`[\w]+`:            "one or more letters, digits and underscores",
	`[\w]*`:            "letters, digits and underscores",
	`(\u002F)|(\u002F[\u0021-\u007E]+\u002F)`: "a path: / alone, or starting and ending with / with printable ASCII characters between",
	`\u002F[\u0021-\u007F]*`:                  "a path prefix: / followed by printable ASCII characters",
	`((/[A-Za-z0-9\.,\+@=_-]+)*)/`:            "a path: /, or /segment/…/ of letters, digits and . , + @ = _ -",
	`[\u0009\u000A\u000D\u0020-\u00FF]+`:      "one or more printable characters (tabs and line breaks allowed)",
	`[\u0020-\u00FF]+`:                        "one or more printable characters",
	`[\u0020-\u007E]+`:                        "one or more printable ASCII characters",

	// Organizations.
	`^\d{12}$`:                           "an account id: 12 digits",
	`^p-[0-9a-zA-Z_]{8,128}$`:            "a policy id: p- followed by 8 to 128 letters, digits or underscores",
	`^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$`: "an OU id: ou-, 4 to 32 lowercase letters or digits, a hyphen, then 8 to 32 more",
	`^r-[0-9a-z]{4,32}$`:                 "a root id: r- followed by 4 to 32 lowercase letters or digits",
	`^o-[a-z0-9]{10,32}$`:                "an organization id: o- followed by 10 to 32 lowercase letters or digits",
	`^(r-[0-9a-z]{4,32})|(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$`:          "a root id (r-…) or an OU id (ou-…-…)",
	`^(r-[0-9a-z]{4,32})|(\d{12})|(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$`: "a root id (r-…), an account id (12 digits) or an OU id (ou-…-…)",
	`^(\d{12})|(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$`:                    "an account id (12 digits) or an OU id (ou-…-…)",
	`[^\s@]+@[^\s@]+\.[^\s@]+`:                                         "an email address",
}

// patternConstraint is the constraint text of a pattern violation: the rule in words when it is
// known, the pattern itself as detail.
func patternConstraint(pattern string) string {
	if w, ok := patternWords[pattern]; ok {
		return "Member must be " + w + " (regular expression pattern: " + pattern + ")"
	}
	return "Member must satisfy regular expression pattern: " + pattern
}
