package gen

import "strings"

// appendFunc appends one JSON value for the event being written.
type appendFunc func(g *Generator, e *draft, dst []byte) []byte

// failure says how a call fails when it does.
type failure uint8

const (
	failNone  failure = iota // never fails
	failUser                 // AccessDenied, "User: … is not authorized to perform: svc:Action …"
	failS3                   // AccessDenied, "Access Denied"
	failEC2                  // Client.UnauthorizedOperation with an encoded message
	failLogin                // ConsoleLogin: "Failed authentication", no errorCode
)

// hostKind says what tlsDetails.clientProvidedHostHeader is.
type hostKind uint8

const (
	hostRegional hostKind = iota // <prefix>.<region>.amazonaws.com
	hostGlobal                   // hostName
	hostBucket                   // <bucket>.s3.<region>.amazonaws.com
)

// apiError is one errorCode with its errorMessage.
type apiError struct{ code, message string }

// template is one API call the generator can write.
type template struct {
	source     string // eventSource
	name       string // eventName
	action     string // IAM action name, when it differs from name
	readOnly   bool
	data       bool // a data event (managementEvent false, eventCategory Data)
	global     bool // always in us-east-1
	s3         bool // S3-style requestID
	host       hostKind
	hostName   string
	eventType  string // default AwsApiCall
	agent      string // the userAgent, when the call always comes from one client
	classes    []class
	services   []string // AWS services that make this call (invokedBy)
	servicePct int      // share of calls made by them, in percent
	rootOK     bool     // the root user makes it now and then
	failure    failure
	notFound   *apiError
	req        appendFunc // requestParameters; nil writes null
	resp       appendFunc // responseElements; nil writes null
	extra      appendFunc // additionalEventData; nil omits it
	resources  appendFunc // elements of resources[]; nil omits it

	// Derived by newCatalog.
	prefix   string // "s3" of "s3.amazonaws.com"
	head     []byte // `","eventSource":"…","eventName":"…","awsRegion":"`
	tail     []byte // `","readOnly":…`
	kind     []byte // `,"eventType":"…","managementEvent":…,"recipientAccountId":"`
	category []byte // `,"eventCategory":"…"`
}

var (
	anyone   = []class{clsHuman, clsHuman, clsCI, clsCI, clsInstance, clsLambda, clsTask}
	machines = []class{clsCI, clsCI, clsCI, clsCI, clsInstance, clsInstance, clsLambda, clsTask}
	people   = []class{clsHuman, clsHuman, clsHuman, clsCI}
	builders = []class{clsHuman, clsCI, clsCI}
)

// newCatalog returns the calls, most common first: Next weights entry k by
// 1/(k+1)^zipfS, so the order is the popularity ranking.
func newCatalog() []*template {
	ts := []*template{
		{source: "kms.amazonaws.com", name: "Decrypt", readOnly: true, classes: machines,
			services: []string{"secretsmanager.amazonaws.com", "s3.amazonaws.com", "ssm.amazonaws.com"}, servicePct: 30,
			failure: failUser, req: kmsDecryptRequest, resources: kmsKeyResource},
		{source: "s3.amazonaws.com", name: "GetObject", readOnly: true, data: true, s3: true, host: hostBucket,
			classes: machines, failure: failS3, notFound: &apiError{"NoSuchKey", "The specified key does not exist."},
			req: s3ObjectRequest, extra: s3GetExtra, resources: s3ObjectResources},
		{source: "sts.amazonaws.com", name: "AssumeRole", readOnly: true, classes: []class{clsHuman, clsCI, clsCI, clsInstance},
			services: []string{"lambda.amazonaws.com", "ec2.amazonaws.com", "ecs-tasks.amazonaws.com"}, servicePct: 55,
			failure: failUser, req: assumeRoleRequest, resp: assumeRoleResponse, resources: roleResource},
		{source: "s3.amazonaws.com", name: "PutObject", data: true, s3: true, host: hostBucket, classes: machines,
			failure: failS3, req: s3PutRequest, resp: s3PutResponse, extra: s3PutExtra, resources: s3ObjectResources},
		{source: "ec2.amazonaws.com", name: "DescribeInstances", readOnly: true, classes: anyone, rootOK: true,
			failure: failEC2, req: describeInstancesRequest},
		{source: "kms.amazonaws.com", name: "GenerateDataKey", readOnly: true, classes: machines,
			services: []string{"s3.amazonaws.com", "dynamodb.amazonaws.com"}, servicePct: 40,
			failure: failUser, req: generateDataKeyRequest, resources: kmsKeyResource},
		{source: "ssm.amazonaws.com", name: "UpdateInstanceInformation", classes: []class{clsInstance}, agent: ssmAgent,
			failure: failUser, req: updateInstanceInformationRequest},
		{source: "s3.amazonaws.com", name: "HeadObject", readOnly: true, data: true, s3: true, host: hostBucket,
			classes: machines, failure: failS3, notFound: &apiError{"NoSuchKey", "The specified key does not exist."},
			req: s3ObjectRequest, extra: s3HeadExtra, resources: s3ObjectResources},
		{source: "logs.amazonaws.com", name: "CreateLogStream", classes: []class{clsLambda},
			failure: failUser, notFound: &apiError{"ResourceAlreadyExistsException", "The specified log stream already exists"},
			req: createLogStreamRequest},
		{source: "ssm.amazonaws.com", name: "GetParameter", readOnly: true, classes: machines,
			failure: failUser, notFound: &apiError{"ParameterNotFound", ""}, req: getParameterRequest},
		{source: "secretsmanager.amazonaws.com", name: "GetSecretValue", readOnly: true, classes: machines,
			failure: failUser, notFound: &apiError{"ResourceNotFoundException", "Secrets Manager can't find the specified secret."},
			req: secretRequest},
		{source: "lambda.amazonaws.com", name: "Invoke", data: true, classes: machines,
			services: []string{"apigateway.amazonaws.com", "s3.amazonaws.com", "events.amazonaws.com"}, servicePct: 50,
			failure: failUser, req: invokeRequest, extra: invokeExtra, resources: functionResource},
		{source: "sts.amazonaws.com", name: "GetCallerIdentity", readOnly: true, classes: anyone, rootOK: true, failure: failNone},
		{source: "ec2.amazonaws.com", name: "DescribeSecurityGroups", readOnly: true, classes: anyone,
			failure: failEC2, req: describeSecurityGroupsRequest},
		{source: "ecr.amazonaws.com", name: "GetAuthorizationToken", readOnly: true, classes: []class{clsCI, clsInstance, clsTask},
			failure: failUser, req: ecrTokenRequest},
		{source: "s3.amazonaws.com", name: "ListObjects", readOnly: true, data: true, s3: true, host: hostBucket,
			classes: anyone, failure: failS3, req: listObjectsRequest, extra: s3Extra, resources: s3BucketResource},
		{source: "dynamodb.amazonaws.com", name: "DescribeTable", readOnly: true, classes: machines,
			failure: failUser, notFound: &apiError{"ResourceNotFoundException", "Requested resource not found"},
			req: tableRequest},
		{source: "iam.amazonaws.com", name: "GetRole", readOnly: true, global: true, host: hostGlobal, hostName: "iam.amazonaws.com",
			classes: builders, failure: failUser, notFound: roleNotFound, req: roleRequest},
		{source: "ec2.amazonaws.com", name: "DescribeVolumes", readOnly: true, classes: anyone,
			failure: failEC2, req: describeVolumesRequest},
		{source: "s3.amazonaws.com", name: "DeleteObject", data: true, s3: true, host: hostBucket, classes: machines,
			failure: failS3, req: s3ObjectRequest, extra: s3HeadExtra, resources: s3ObjectResources},
		{source: "logs.amazonaws.com", name: "DescribeLogGroups", readOnly: true, classes: anyone,
			failure: failUser, req: describeLogGroupsRequest},
		{source: "cloudtrail.amazonaws.com", name: "LookupEvents", readOnly: true, classes: people, rootOK: true,
			failure: failUser, req: lookupEventsRequest},
		{source: "ec2.amazonaws.com", name: "DescribeSubnets", readOnly: true, classes: anyone,
			failure: failEC2, req: describeSubnetsRequest},
		{source: "secretsmanager.amazonaws.com", name: "DescribeSecret", readOnly: true, classes: anyone,
			failure: failUser, req: secretRequest},
		{source: "iam.amazonaws.com", name: "ListRoles", readOnly: true, global: true, host: hostGlobal, hostName: "iam.amazonaws.com",
			classes: builders, rootOK: true, failure: failUser, req: listRolesRequest},
		{source: "lambda.amazonaws.com", name: "GetFunction20150331v2", action: "GetFunction", readOnly: true, classes: builders,
			failure: failUser, notFound: &apiError{"ResourceNotFoundException", "Function not found"}, req: functionNameRequest},
		{source: "ssm.amazonaws.com", name: "GetParameters", readOnly: true, classes: machines,
			failure: failUser, req: getParametersRequest},
		{source: "s3.amazonaws.com", name: "GetBucketAcl", readOnly: true, s3: true, host: hostBucket, classes: people,
			services: []string{"cloudtrail.amazonaws.com", "config.amazonaws.com"}, servicePct: 80,
			failure: failS3, req: bucketACLRequest, extra: s3Extra, resources: s3BucketResource},
		{source: "ec2.amazonaws.com", name: "DescribeVpcs", readOnly: true, classes: anyone,
			failure: failEC2, req: describeVpcsRequest},
		{source: "iam.amazonaws.com", name: "GetUser", readOnly: true, global: true, host: hostGlobal, hostName: "iam.amazonaws.com",
			classes: people, rootOK: true, failure: failUser, notFound: &apiError{"NoSuchEntityException", "The user with name deploy-bot-old cannot be found."},
			req: userRequest},
		{source: "cloudtrail.amazonaws.com", name: "DescribeTrails", readOnly: true, classes: people, rootOK: true,
			failure: failUser, req: describeTrailsRequest},
		{source: "iam.amazonaws.com", name: "ListAttachedRolePolicies", readOnly: true, global: true, host: hostGlobal, hostName: "iam.amazonaws.com",
			classes: builders, failure: failUser, notFound: roleNotFound, req: roleRequest},
		{source: "signin.amazonaws.com", name: "ConsoleLogin", global: true, host: hostGlobal, hostName: "signin.aws.amazon.com",
			eventType: "AwsConsoleSignIn", classes: []class{clsHuman}, rootOK: true, failure: failLogin,
			resp: consoleLoginResponse, extra: consoleLoginExtra},
		{source: "ec2.amazonaws.com", name: "CreateTags", classes: builders, failure: failEC2,
			req: createTagsRequest, resp: ec2ReturnResponse},
		{source: "s3.amazonaws.com", name: "ListBuckets", readOnly: true, s3: true, global: true, host: hostGlobal, hostName: "s3.amazonaws.com",
			classes: anyone, rootOK: true, failure: failS3, req: listBucketsRequest, extra: s3Extra},
		{source: "ec2.amazonaws.com", name: "RunInstances", classes: builders, rootOK: true, failure: failEC2,
			notFound: &apiError{"Client.VcpuLimitExceeded", "You have requested more vCPU capacity than your current vCPU limit of 32 allows for the instance bucket that the specified instance type belongs to. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit."},
			req:      runInstancesRequest, resp: runInstancesResponse},
		{source: "ec2.amazonaws.com", name: "StopInstances", classes: builders, failure: failEC2,
			req: instanceStateRequest, resp: stopInstancesResponse},
		{source: "ec2.amazonaws.com", name: "StartInstances", classes: builders, failure: failEC2,
			req: instanceStateRequest, resp: startInstancesResponse},
		{source: "ssm.amazonaws.com", name: "SendCommand", classes: builders, failure: failUser,
			req: sendCommandRequest, resp: sendCommandResponse},
		{source: "iam.amazonaws.com", name: "CreateAccessKey", global: true, host: hostGlobal, hostName: "iam.amazonaws.com",
			classes: people, rootOK: true, failure: failUser,
			notFound: &apiError{"LimitExceededException", "Cannot exceed quota for AccessKeysPerUser: 2"},
			req:      userRequest, resp: createAccessKeyResponse},
		{source: "iam.amazonaws.com", name: "AttachRolePolicy", global: true, host: hostGlobal, hostName: "iam.amazonaws.com",
			classes: builders, failure: failUser, notFound: roleNotFound, req: attachRolePolicyRequest},
		{source: "iam.amazonaws.com", name: "PutRolePolicy", global: true, host: hostGlobal, hostName: "iam.amazonaws.com",
			classes: builders, failure: failUser, notFound: roleNotFound, req: putRolePolicyRequest},
		{source: "s3.amazonaws.com", name: "PutBucketPolicy", s3: true, host: hostBucket, classes: builders,
			failure: failS3, req: putBucketPolicyRequest, extra: s3Extra, resources: s3BucketResource},
		{source: "lambda.amazonaws.com", name: "UpdateFunctionCode20150331v2", action: "UpdateFunctionCode", classes: builders,
			failure: failUser, req: updateFunctionCodeRequest, resp: updateFunctionCodeResponse},
		{source: "ssm.amazonaws.com", name: "PutParameter", classes: builders, failure: failUser,
			req: putParameterRequest, resp: putParameterResponse},
		{source: "ec2.amazonaws.com", name: "AuthorizeSecurityGroupIngress", classes: builders, failure: failEC2,
			notFound: &apiError{"Client.InvalidPermission.Duplicate", "the specified rule \"peer: 0.0.0.0/0, TCP, from port: 443, to port: 443, ALLOW\" already exists"},
			req:      authorizeIngressRequest, resp: authorizeIngressResponse},
		{source: "iam.amazonaws.com", name: "CreateUser", global: true, host: hostGlobal, hostName: "iam.amazonaws.com",
			classes: people, rootOK: true, failure: failUser,
			notFound: &apiError{"EntityAlreadyExistsException", "User with name contractor-2024 already exists."},
			req:      createUserRequest, resp: createUserResponse},
		{source: "cloudtrail.amazonaws.com", name: "GetTrailStatus", readOnly: true, classes: people, failure: failUser,
			req: trailRequest},
		{source: "secretsmanager.amazonaws.com", name: "RotateSecret", classes: builders, failure: failUser,
			req: rotateSecretRequest, resp: rotateSecretResponse},
		{source: "kms.amazonaws.com", name: "ScheduleKeyDeletion", classes: people, failure: failUser,
			req: scheduleKeyDeletionRequest, resp: scheduleKeyDeletionResponse, resources: kmsKeyResource},
		{source: "cloudtrail.amazonaws.com", name: "StopLogging", classes: people, rootOK: true, failure: failUser,
			req: trailRequest},
	}
	for _, t := range ts {
		t.prefix, _, _ = strings.Cut(t.source, ".")
		if t.action == "" {
			t.action = t.name
		}
		if t.eventType == "" {
			t.eventType = "AwsApiCall"
		}
		t.head = []byte(`","eventSource":"` + t.source + `","eventName":"` + t.name + `","awsRegion":"`)
		ro := "false"
		if t.readOnly {
			ro = "true"
		}
		t.tail = []byte(`","readOnly":` + ro)
		mgmt, cat := "true", "Management"
		if t.data {
			mgmt, cat = "false", "Data"
		}
		t.kind = []byte(`,"eventType":"` + t.eventType + `","managementEvent":` + mgmt + `,"recipientAccountId":"`)
		t.category = []byte(`,"eventCategory":"` + cat + `"`)
	}
	return ts
}

const ssmAgent = "aws-sdk-go/1.44.260 (go1.20.4; linux; amd64) amazon-ssm-agent/3.3.131.0"

var roleNotFound = &apiError{"NoSuchEntityException", "The role with name legacy-admin-role cannot be found."}

// appendError appends errorCode and errorMessage for a failed call.
func (g *Generator) appendError(dst []byte, e *draft, t *template) []byte {
	r := g.intn(100)
	switch {
	case t.failure == failLogin:
		return append(dst, `,"errorMessage":"Failed authentication"`...)
	case e.service != "" || r < 25:
		if t.s3 {
			return append(dst, `,"errorCode":"SlowDown","errorMessage":"Please reduce your request rate."`...)
		}
		return append(dst, `,"errorCode":"ThrottlingException","errorMessage":"Rate exceeded"`...)
	case r < 50 && t.notFound != nil:
		dst = append(dst, `,"errorCode":"`...)
		dst = append(dst, t.notFound.code...)
		dst = append(dst, `","errorMessage":`...)
		return appendString(dst, t.notFound.message)
	}
	switch t.failure {
	case failS3:
		return append(dst, `,"errorCode":"AccessDenied","errorMessage":"Access Denied"`...)
	case failEC2:
		dst = append(dst, `,"errorCode":"Client.UnauthorizedOperation","errorMessage":"You are not authorized to perform this operation. User: `...)
		dst = appendEscaped(dst, e.id.arn)
		dst = append(dst, ` is not authorized to perform: ec2:`...)
		dst = append(dst, t.action...)
		dst = append(dst, ` because no identity-based policy allows the ec2:`...)
		dst = append(dst, t.action...)
		dst = append(dst, ` action. Encoded authorization failure message: `...)
		for range 3 {
			dst = g.appendBase64(dst, 40)
		}
		return append(dst, '"')
	default:
		dst = append(dst, `,"errorCode":"AccessDenied","errorMessage":"User: `...)
		dst = appendEscaped(dst, e.id.arn)
		dst = append(dst, ` is not authorized to perform: `...)
		dst = append(dst, t.prefix...)
		dst = append(dst, ':')
		dst = append(dst, t.action...)
		dst = append(dst, ` because no identity-based policy allows the `...)
		dst = append(dst, t.prefix...)
		dst = append(dst, ':')
		dst = append(dst, t.action...)
		return append(dst, ` action"`...)
	}
}
