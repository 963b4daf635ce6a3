package gen

// Request parameters and response elements of STS, IAM, CloudTrail and
// console sign-in calls.

func assumeRoleRequest(g *Generator, e *draft, dst []byte) []byte {
	e.name = g.pick(e.a.roles)
	dst = append(dst, `{"roleArn":"arn:aws:iam::`...)
	dst = append(dst, e.a.id...)
	dst = append(dst, `:role/`...)
	dst = append(dst, e.name...)
	dst = append(dst, `","roleSessionName":"`...)
	dst = g.appendSessionName(dst, e)
	return append(dst, `","durationSeconds":3600}`...)
}

// appendSessionName writes a session name that fits who assumes the role and
// keeps it in g.key for the response.
func (g *Generator) appendSessionName(dst []byte, e *draft) []byte {
	k := g.key[:0]
	switch e.service {
	case "lambda.amazonaws.com":
		k = append(k, g.pick(e.a.functions)...)
	case "ec2.amazonaws.com":
		k = append(k, g.pick(e.a.instances)...)
	case "ecs-tasks.amazonaws.com":
		k = appendHex(appendHex(k, g.rng.Uint64(), 16), g.rng.Uint64(), 16)
	default:
		k = append(k, "botocore-session-"...)
		k = appendUint(k, uint64(e.t)-g.uint64n(600))
	}
	g.key = k
	return append(dst, k...)
}

func assumeRoleResponse(g *Generator, e *draft, dst []byte) []byte {
	dst = append(dst, `{"credentials":{"accessKeyId":"ASIA`...)
	dst = g.appendKeyChars(dst, 16)
	dst = append(dst, `","sessionToken":"`...)
	dst = append(dst, g.pick(g.tokens)...)
	dst = append(dst, `","expiration":"`...)
	dst = appendLegacyTime(dst, e.t+3600)
	dst = append(dst, `"},"assumedRoleUser":{"assumedRoleId":"AROA`...)
	dst = g.appendKeyChars(dst, 17)
	dst = append(dst, ':')
	dst = append(dst, g.key...)
	dst = append(dst, `","arn":"arn:aws:sts::`...)
	dst = append(dst, e.a.id...)
	dst = append(dst, `:assumed-role/`...)
	dst = append(dst, e.name...)
	dst = append(dst, '/')
	dst = append(dst, g.key...)
	return append(dst, `"}}`...)
}

func roleResource(g *Generator, e *draft, dst []byte) []byte {
	dst = append(dst, `{"accountId":"`...)
	dst = append(dst, e.a.id...)
	dst = append(dst, `","type":"AWS::IAM::Role","ARN":"arn:aws:iam::`...)
	dst = append(dst, e.a.id...)
	dst = append(dst, `:role/`...)
	dst = append(dst, e.name...)
	return append(dst, `"}`...)
}

func roleRequest(g *Generator, e *draft, dst []byte) []byte {
	dst = append(dst, `{"roleName":"`...)
	dst = append(dst, g.pick(e.a.roles)...)
	return append(dst, `"}`...)
}

func listRolesRequest(g *Generator, e *draft, dst []byte) []byte {
	if g.intn(2) == 0 {
		return append(dst, `{"maxItems":100}`...)
	}
	return append(dst, `{"pathPrefix":"/aws-reserved/sso.amazonaws.com/"}`...)
}

func userRequest(g *Generator, e *draft, dst []byte) []byte {
	e.name = g.pick(e.a.users)
	dst = append(dst, `{"userName":`...)
	dst = appendString(dst, e.name)
	return append(dst, '}')
}

func createAccessKeyResponse(g *Generator, e *draft, dst []byte) []byte {
	dst = append(dst, `{"accessKey":{"userName":`...)
	dst = appendString(dst, e.name)
	dst = append(dst, `,"accessKeyId":"AKIA`...)
	dst = g.appendKeyChars(dst, 16)
	dst = append(dst, `","status":"Active","createDate":"`...)
	dst = appendLegacyTime(dst, e.t)
	return append(dst, `"}}`...)
}

func attachRolePolicyRequest(g *Generator, e *draft, dst []byte) []byte {
	dst = append(dst, `{"roleName":"`...)
	dst = append(dst, g.pick(e.a.roles)...)
	dst = append(dst, `","policyArn":"arn:aws:iam::aws:policy/`...)
	dst = append(dst, g.pick([]string{"ReadOnlyAccess", "AmazonS3ReadOnlyAccess", "AdministratorAccess", "CloudWatchAgentServerPolicy", "AmazonSSMManagedInstanceCore"})...)
	return append(dst, `"}`...)
}

// inlinePolicy is a policy document as IAM logs it: a JSON string with its
// own formatting, escaped inside the record.
const inlinePolicy = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Effect\": \"Allow\",\n      \"Action\": [\n        \"s3:GetObject\",\n        \"s3:ListBucket\"\n      ],\n      \"Resource\": \"*\"\n    }\n  ]\n}"

func putRolePolicyRequest(g *Generator, e *draft, dst []byte) []byte {
	dst = append(dst, `{"roleName":"`...)
	dst = append(dst, g.pick(e.a.roles)...)
	dst = append(dst, `","policyName":"inline-s3-read","policyDocument":`...)
	dst = appendString(dst, inlinePolicy)
	return append(dst, '}')
}

func createUserRequest(g *Generator, e *draft, dst []byte) []byte {
	e.name = g.pick([]string{"contractor-2024", "svc-reporting", "break-glass", "auditor-ext"})
	dst = append(dst, `{"userName":"`...)
	dst = append(dst, e.name...)
	return append(dst, `","tags":[{"key":"owner","value":"security"}]}`...)
}

func createUserResponse(g *Generator, e *draft, dst []byte) []byte {
	dst = append(dst, `{"user":{"path":"/","userName":"`...)
	dst = append(dst, e.name...)
	dst = append(dst, `","userId":"AIDA`...)
	dst = g.appendKeyChars(dst, 17)
	dst = append(dst, `","arn":"arn:aws:iam::`...)
	dst = append(dst, e.a.id...)
	dst = append(dst, `:user/`...)
	dst = append(dst, e.name...)
	dst = append(dst, `","createDate":"`...)
	dst = appendLegacyTime(dst, e.t)
	return append(dst, `","tags":[{"key":"owner","value":"security"}]}}`...)
}

func lookupEventsRequest(g *Generator, e *draft, dst []byte) []byte {
	dst = append(dst, `{"maxResults":50,"lookupAttributes":[{"attributeKey":"EventName","attributeValue":"`...)
	dst = append(dst, g.pick([]string{"ConsoleLogin", "CreateUser", "DeleteBucket", "StopLogging", "RunInstances"})...)
	dst = append(dst, `"}],"startTime":"`...)
	dst = appendLegacyTime(dst, e.t-86400)
	dst = append(dst, `","endTime":"`...)
	dst = appendLegacyTime(dst, e.t)
	return append(dst, `"}`...)
}

func describeTrailsRequest(g *Generator, e *draft, dst []byte) []byte {
	return append(dst, `{"includeShadowTrails":true}`...)
}

func trailRequest(g *Generator, e *draft, dst []byte) []byte {
	dst = append(dst, `{"name":"arn:aws:cloudtrail:`...)
	dst = append(dst, e.region...)
	dst = append(dst, ':')
	dst = append(dst, e.a.id...)
	dst = append(dst, `:trail/`...)
	dst = append(dst, e.a.trail...)
	return append(dst, `"}`...)
}

func consoleLoginResponse(g *Generator, e *draft, dst []byte) []byte {
	if e.failed {
		return append(dst, `{"ConsoleLogin":"Failure"}`...)
	}
	return append(dst, `{"ConsoleLogin":"Success"}`...)
}

func consoleLoginExtra(g *Generator, e *draft, dst []byte) []byte {
	return append(dst, `{"LoginTo":"https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_us-east-1_`+
		`c8a5d7e4b2f1a3c6","MobileVersion":"No","MFAUsed":"Yes"}`...)
}
