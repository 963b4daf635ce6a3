package gen

// Request parameters and response elements of EC2, SSM, CloudWatch Logs,
// Lambda and ECR calls. EC2's Describe* calls log their filters and no
// response, as AWS does.

func appendItems(dst []byte, key, field, value string) []byte {
	dst = append(dst, `"`...)
	dst = append(dst, key...)
	dst = append(dst, `":{"items":[{"`...)
	dst = append(dst, field...)
	dst = append(dst, `":"`...)
	dst = append(dst, value...)
	return append(dst, `"}]}`...)
}

func appendFilter(dst []byte, name, value string) []byte {
	dst = append(dst, `"filterSet":{"items":[{"name":"`...)
	dst = append(dst, name...)
	dst = append(dst, `","valueSet":{"items":[{"value":"`...)
	dst = append(dst, value...)
	return append(dst, `"}]}}]}`...)
}

func describeInstancesRequest(g *Generator, e *draft, dst []byte) []byte {
	if g.intn(2) == 0 {
		dst = append(dst, '{')
		dst = appendItems(dst, "instancesSet", "instanceId", g.pick(e.a.instances))
		return append(dst, `,"filterSet":{}}`...)
	}
	dst = append(dst, `{"instancesSet":{},`...)
	dst = appendFilter(dst, "instance-state-name", "running")
	return append(dst, '}')
}

func describeSecurityGroupsRequest(g *Generator, e *draft, dst []byte) []byte {
	dst = append(dst, `{"securityGroupSet":{},`...)
	dst = appendItems(dst, "securityGroupIdSet", "groupId", g.pick(e.a.groups))
	return append(dst, `,"filterSet":{}}`...)
}

func describeVolumesRequest(g *Generator, e *draft, dst []byte) []byte {
	dst = append(dst, `{"volumeSet":{},`...)
	dst = appendFilter(dst, "attachment.instance-id", g.pick(e.a.instances))
	return append(dst, '}')
}

func describeSubnetsRequest(g *Generator, e *draft, dst []byte) []byte {
	dst = append(dst, `{"subnetSet":{},`...)
	dst = appendFilter(dst, "vpc-id", g.pick(e.a.vpcs))
	return append(dst, '}')
}

func describeVpcsRequest(g *Generator, e *draft, dst []byte) []byte {
	return append(dst, `{"vpcSet":{},"filterSet":{}}`...)
}

func createTagsRequest(g *Generator, e *draft, dst []byte) []byte {
	dst = append(dst, '{')
	dst = appendItems(dst, "resourcesSet", "resourceId", g.pick(e.a.instances))
	dst = append(dst, `,"tagSet":{"items":[{"key":"`...)
	dst = append(dst, g.pick([]string{"Owner", "CostCenter", "Environment", "Backup"})...)
	dst = append(dst, `","value":"`...)
	dst = append(dst, g.pick([]string{"platform-team", "cc-1042", "production", "daily"})...)
	return append(dst, `"}]}}`...)
}

func ec2ReturnResponse(g *Generator, e *draft, dst []byte) []byte {
	dst = append(dst, `{"requestId":"`...)
	dst = appendUUID(dst, g.rng.Uint64(), g.rng.Uint64())
	return append(dst, `","_return":true}`...)
}

func runInstancesRequest(g *Generator, e *draft, dst []byte) []byte {
	e.name = g.pick([]string{"t3.micro", "t3.large", "m7i.xlarge", "c7g.2xlarge", "r6i.large"})
	e.bucket = g.pick(e.a.amis) // the image, reused by the response
	e.n = uint64(g.intn(len(e.a.subnets)))
	dst = append(dst, `{"instancesSet":{"items":[{"imageId":"`...)
	dst = append(dst, e.bucket...)
	dst = append(dst, `","minCount":1,"maxCount":1}]},"instanceType":"`...)
	dst = append(dst, e.name...)
	dst = append(dst, `","blockDeviceMapping":{},"monitoring":{"enabled":false},"subnetId":"`...)
	dst = append(dst, e.a.subnets[e.n]...)
	dst = append(dst, `","disableApiTermination":false,"disableApiStop":false,"clientToken":"`...)
	dst = appendUUID(dst, g.rng.Uint64(), g.rng.Uint64())
	dst = append(dst, `","tagSpecificationSet":{"items":[{"resourceType":"instance","tags":[{"key":"Name","value":"`...)
	dst = append(dst, g.pick([]string{"web-1", "batch-runner", "bastion", "ci-agent"})...)
	return append(dst, `"}]}]}}`...)
}

func runInstancesResponse(g *Generator, e *draft, dst []byte) []byte {
	inst := appendHex([]byte("i-0"), g.rng.Uint64(), 16)
	ip := []byte("10.0.")
	ip = appendUint(ip, g.uint64n(16))
	ip = append(ip, '.')
	ip = appendUint(ip, g.uint64n(254)+1)
	dst = append(dst, `{"requestId":"`...)
	dst = appendUUID(dst, g.rng.Uint64(), g.rng.Uint64())
	dst = append(dst, `","reservationId":"`...)
	dst = appendHex(append(dst, "r-0"...), g.rng.Uint64(), 16)
	dst = append(dst, `","ownerId":"`...)
	dst = append(dst, e.a.id...)
	dst = append(dst, `","groupSet":{},"instancesSet":{"items":[{"instanceId":"`...)
	dst = append(dst, inst...)
	dst = append(dst, `","imageId":"`...)
	dst = append(dst, e.bucket...)
	dst = append(dst, `","currentInstanceBootMode":"legacy-bios","instanceState":{"code":0,"name":"pending"},"privateDnsName":"`...)
	dst = appendPrivateDNS(dst, string(ip), e.region)
	dst = append(dst, `","amiLaunchIndex":0,"productCodes":{},"instanceType":"`...)
	dst = append(dst, e.name...)
	dst = append(dst, `","launchTime":`...)
	dst = appendUint(dst, uint64(e.t)*1000)
	dst = append(dst, `,"placement":{"availabilityZone":"`...)
	dst = append(dst, e.region...)
	dst = append(dst, `a","tenancy":"default"},"monitoring":{"state":"disabled"},"subnetId":"`...)
	dst = append(dst, e.a.subnets[e.n]...)
	dst = append(dst, `","vpcId":"`...)
	dst = append(dst, e.a.vpcs[0]...)
	dst = append(dst, `","privateIpAddress":"`...)
	dst = append(dst, ip...)
	dst = append(dst, `","stateReason":{"code":"pending","message":"pending"},"architecture":"x86_64","rootDeviceType":"ebs","rootDeviceName":"/dev/xvda","blockDeviceMapping":{},"virtualizationType":"hvm","hypervisor":"xen","groupSet":{"items":[{"groupId":"`...)
	dst = append(dst, e.a.groups[0]...)
	dst = append(dst, `","groupName":"default"}]},"sourceDestCheck":true,"networkInterfaceSet":{"items":[{"networkInterfaceId":"`...)
	dst = appendHex(append(dst, "eni-0"...), g.rng.Uint64(), 16)
	dst = append(dst, `","subnetId":"`...)
	dst = append(dst, e.a.subnets[e.n]...)
	dst = append(dst, `","vpcId":"`...)
	dst = append(dst, e.a.vpcs[0]...)
	dst = append(dst, `","ownerId":"`...)
	dst = append(dst, e.a.id...)
	dst = append(dst, `","status":"in-use","privateIpAddress":"`...)
	dst = append(dst, ip...)
	return append(dst, `","sourceDestCheck":true,"interfaceType":"interface"}]},"ebsOptimized":false,"enaSupport":true,"cpuOptions":{"coreCount":1,"threadsPerCore":2},"capacityReservationSpecification":{"capacityReservationPreference":"open"},"enclaveOptions":{"enabled":false},"metadataOptions":{"state":"pending","httpTokens":"required","httpPutResponseHopLimit":2,"httpEndpoint":"enabled","httpProtocolIpv4":"ipv4","httpProtocolIpv6":"disabled","instanceMetadataTags":"disabled"},"maintenanceOptions":{"autoRecovery":"default"},"privateDnsNameOptions":{"hostnameType":"ip-name","enableResourceNameDnsARecord":false,"enableResourceNameDnsAAAARecord":false}}]}}`...)
}

// appendPrivateDNS appends an instance's private DNS name for ip, as EC2
// names it: ip-10-0-1-2.ec2.internal in us-east-1, else
// ip-10-0-1-2.<region>.compute.internal.
func appendPrivateDNS(dst []byte, ip, region string) []byte {
	dst = append(dst, "ip-"...)
	for i := 0; i < len(ip); i++ {
		c := ip[i]
		if c == '.' {
			c = '-'
		}
		dst = append(dst, c)
	}
	if region == "us-east-1" {
		return append(dst, ".ec2.internal"...)
	}
	dst = append(dst, '.')
	dst = append(dst, region...)
	return append(dst, ".compute.internal"...)
}

func instanceStateRequest(g *Generator, e *draft, dst []byte) []byte {
	e.name = g.pick(e.a.instances)
	dst = append(dst, '{')
	dst = appendItems(dst, "instancesSet", "instanceId", e.name)
	return append(dst, `,"force":false}`...)
}

func stopInstancesResponse(g *Generator, e *draft, dst []byte) []byte {
	return instanceStateResponse(g, e, dst, `{"code":64,"name":"stopping"},"previousState":{"code":16,"name":"running"}`)
}

func startInstancesResponse(g *Generator, e *draft, dst []byte) []byte {
	return instanceStateResponse(g, e, dst, `{"code":0,"name":"pending"},"previousState":{"code":80,"name":"stopped"}`)
}

func instanceStateResponse(g *Generator, e *draft, dst []byte, states string) []byte {
	dst = append(dst, `{"requestId":"`...)
	dst = appendUUID(dst, g.rng.Uint64(), g.rng.Uint64())
	dst = append(dst, `","instancesSet":{"items":[{"instanceId":"`...)
	dst = append(dst, e.name...)
	dst = append(dst, `","currentState":`...)
	dst = append(dst, states...)
	return append(dst, `}]}}`...)
}

func authorizeIngressRequest(g *Generator, e *draft, dst []byte) []byte {
	e.name = g.pick(e.a.groups)
	dst = append(dst, `{"groupId":"`...)
	dst = append(dst, e.name...)
	return append(dst, `","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":443,"toPort":443,"groups":{},"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]},"ipv6Ranges":{},"prefixListIds":{}}]}}`...)
}

func authorizeIngressResponse(g *Generator, e *draft, dst []byte) []byte {
	dst = append(dst, `{"requestId":"`...)
	dst = appendUUID(dst, g.rng.Uint64(), g.rng.Uint64())
	dst = append(dst, `","_return":true,"securityGroupRuleSet":{"items":[{"groupOwnerId":"`...)
	dst = append(dst, e.a.id...)
	dst = append(dst, `","groupId":"`...)
	dst = append(dst, e.name...)
	dst = append(dst, `","securityGroupRuleId":"`...)
	dst = appendHex(append(dst, "sgr-0"...), g.rng.Uint64(), 16)
	return append(dst, `","isEgress":false,"ipProtocol":"tcp","fromPort":443,"toPort":443,"cidrIpv4":"0.0.0.0/0"}]}}`...)
}

func updateInstanceInformationRequest(g *Generator, e *draft, dst []byte) []byte {
	inst, ip := e.a.instances[0], "10.0.3.17"
	if e.id != nil && e.id.class == clsInstance {
		// The session name of an instance profile is the instance id.
		arn := e.id.arn
		inst, ip = arn[len(arn)-len(inst):], e.id.private
	}
	dst = append(dst, `{"instanceId":"`...)
	dst = append(dst, inst...)
	dst = append(dst, `","agentVersion":"3.3.131.0","agentStatus":"Active","platformType":"Linux","platformName":"Amazon Linux","platformVersion":"2023","iPAddress":"`...)
	dst = append(dst, ip...)
	dst = append(dst, `","computerName":"`...)
	dst = appendPrivateDNS(dst, ip, e.region)
	dst = append(dst, `","agentName":"amazon-ssm-agent","availabilityZone":"`...)
	dst = append(dst, e.region...)
	return append(dst, `a","sSMConnectionChannel":"ssmmessages"}`...)
}

func getParameterRequest(g *Generator, e *draft, dst []byte) []byte {
	dst = append(dst, `{"name":"`...)
	dst = append(dst, g.pick(e.a.params)...)
	return append(dst, `","withDecryption":true}`...)
}

func getParametersRequest(g *Generator, e *draft, dst []byte) []byte {
	dst = append(dst, `{"names":["`...)
	dst = append(dst, e.a.params[0]...)
	dst = append(dst, `","`...)
	dst = append(dst, e.a.params[1]...)
	return append(dst, `"],"withDecryption":false}`...)
}

func putParameterRequest(g *Generator, e *draft, dst []byte) []byte {
	dst = append(dst, `{"name":"`...)
	dst = append(dst, g.pick(e.a.params)...)
	return append(dst, `","type":"SecureString","value":"HIDDEN_DUE_TO_SECURITY_REASONS","overwrite":true,"keyId":"alias/aws/ssm"}`...)
}

func putParameterResponse(g *Generator, e *draft, dst []byte) []byte {
	dst = append(dst, `{"version":`...)
	dst = appendUint(dst, 1+g.uint64n(40))
	return append(dst, `,"tier":"Standard"}`...)
}

func sendCommandRequest(g *Generator, e *draft, dst []byte) []byte {
	e.name = g.pick(e.a.instances)
	dst = append(dst, `{"instanceIds":["`...)
	dst = append(dst, e.name...)
	return append(dst, `"],"documentName":"AWS-RunShellScript","parameters":"HIDDEN_DUE_TO_SECURITY_REASONS","interactive":false}`...)
}

func sendCommandResponse(g *Generator, e *draft, dst []byte) []byte {
	dst = append(dst, `{"command":{"commandId":"`...)
	dst = appendUUID(dst, g.rng.Uint64(), g.rng.Uint64())
	dst = append(dst, `","documentName":"AWS-RunShellScript","documentVersion":"$DEFAULT","comment":"","expiresAfter":"`...)
	dst = appendLegacyTime(dst, e.t+3600)
	dst = append(dst, `","parameters":"HIDDEN_DUE_TO_SECURITY_REASONS","instanceIds":["`...)
	dst = append(dst, e.name...)
	dst = append(dst, `"],"targets":[],"requestedDateTime":"`...)
	dst = appendLegacyTime(dst, e.t)
	return append(dst, `","status":"Pending","statusDetails":"Pending","outputS3Region":"us-east-1","outputS3BucketName":"","outputS3KeyPrefix":"","maxConcurrency":"50","maxErrors":"0","targetCount":1,"completedCount":0,"errorCount":0,"deliveryTimedOutCount":0,"serviceRole":"","notificationConfig":{"notificationArn":"","notificationEvents":[],"notificationType":""},"cloudWatchOutputConfig":{"cloudWatchLogGroupName":"","cloudWatchOutputEnabled":false},"timeoutSeconds":3600,"alarmConfiguration":{"ignorePollAlarmFailure":false,"alarms":[]},"triggeredAlarms":[]}}`...)
}

func createLogStreamRequest(g *Generator, e *draft, dst []byte) []byte {
	fn := e.a.functions[0]
	if e.id != nil {
		arn := e.id.arn // …:assumed-role/<role>/<function>
		for i := len(arn) - 1; i >= 0; i-- {
			if arn[i] == '/' {
				fn = arn[i+1:]
				break
			}
		}
	}
	y, m, d := civil(e.t / 86400)
	dst = append(dst, `{"logGroupName":"/aws/lambda/`...)
	dst = append(dst, fn...)
	dst = append(dst, `","logStreamName":"`...)
	dst = appendDate(dst, y, m, d, '/')
	dst = append(dst, `/[$LATEST]`...)
	dst = appendHex(appendHex(dst, g.rng.Uint64(), 16), g.rng.Uint64(), 16)
	return append(dst, `"}`...)
}

func describeLogGroupsRequest(g *Generator, e *draft, dst []byte) []byte {
	dst = append(dst, `{"logGroupNamePrefix":"`...)
	dst = append(dst, g.pick([]string{"/aws/lambda/", "/ecs/", "/aws/rds/", "/app/"})...)
	return append(dst, `"}`...)
}

func appendFunctionARN(dst []byte, e *draft) []byte {
	dst = append(dst, "arn:aws:lambda:"...)
	dst = append(dst, e.region...)
	dst = append(dst, ':')
	dst = append(dst, e.a.id...)
	dst = append(dst, ":function:"...)
	return append(dst, e.name...)
}

func invokeRequest(g *Generator, e *draft, dst []byte) []byte {
	e.name = g.pick(e.a.functions)
	dst = append(dst, `{"functionName":"`...)
	dst = appendFunctionARN(dst, e)
	if e.service == "s3.amazonaws.com" {
		dst = append(dst, `","sourceArn":"arn:aws:s3:::`...)
		dst = append(dst, e.a.buckets[0]...)
	}
	return append(dst, `"}`...)
}

func invokeExtra(g *Generator, e *draft, dst []byte) []byte {
	dst = append(dst, `{"functionVersion":"`...)
	dst = appendFunctionARN(dst, e)
	return append(dst, `:$LATEST"}`...)
}

func functionResource(g *Generator, e *draft, dst []byte) []byte {
	dst = append(dst, `{"accountId":"`...)
	dst = append(dst, e.a.id...)
	dst = append(dst, `","type":"AWS::Lambda::Function","ARN":"`...)
	dst = appendFunctionARN(dst, e)
	return append(dst, `"}`...)
}

func functionNameRequest(g *Generator, e *draft, dst []byte) []byte {
	e.name = g.pick(e.a.functions)
	dst = append(dst, `{"functionName":"`...)
	dst = append(dst, e.name...)
	return append(dst, `"}`...)
}

func updateFunctionCodeRequest(g *Generator, e *draft, dst []byte) []byte {
	e.name = g.pick(e.a.functions)
	dst = append(dst, `{"functionName":"`...)
	dst = append(dst, e.name...)
	return append(dst, `","publish":false,"dryRun":false}`...)
}

func updateFunctionCodeResponse(g *Generator, e *draft, dst []byte) []byte {
	dst = append(dst, `{"functionName":"`...)
	dst = append(dst, e.name...)
	dst = append(dst, `","functionArn":"`...)
	dst = appendFunctionARN(dst, e)
	dst = append(dst, `","runtime":"python3.12","role":"arn:aws:iam::`...)
	dst = append(dst, e.a.id...)
	dst = append(dst, `:role/service-role/`...)
	dst = append(dst, e.name...)
	dst = append(dst, `-role","handler":"app.handler","codeSize":`...)
	dst = appendUint(dst, 4096+g.uint64n(5<<20))
	dst = append(dst, `,"description":"","timeout":30,"memorySize":256,"lastModified":"`...)
	dst = appendTime(dst, e.t)
	dst = dst[:len(dst)-1] // drop the Z: Lambda writes +0000
	dst = append(dst, `.000+0000","codeSha256":"`...)
	dst = g.appendBase64(dst, 43)
	dst = append(dst, `=","version":"$LATEST","tracingConfig":{"mode":"PassThrough"},"revisionId":"`...)
	dst = appendUUID(dst, g.rng.Uint64(), g.rng.Uint64())
	return append(dst, `","state":"Active","lastUpdateStatus":"InProgress","lastUpdateStatusReason":"The function is being created.","lastUpdateStatusReasonCode":"Creating","packageType":"Zip","architectures":["x86_64"],"ephemeralStorage":{"size":512},"snapStart":{"applyOn":"None","optimizationStatus":"Off"}}`...)
}

func ecrTokenRequest(g *Generator, e *draft, dst []byte) []byte {
	dst = append(dst, `{"registryIds":["`...)
	dst = append(dst, e.a.id...)
	return append(dst, `"]}`...)
}
