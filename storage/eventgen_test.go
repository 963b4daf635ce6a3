package storage

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// eventGen builds synthetic CloudTrail records that look like a real
// organisation's management events: ~20 accounts, 6 regions, ~40 APIs, IAM
// users with long-term keys, assumed-role sessions whose keys rotate, service
// principals, a few user agents and source IPs per account, random eventIDs
// and requestIDs, mostly increasing eventTimes with some late arrivals. The
// field order and sizes follow real delivery files (~1.2–1.5 KB per record).
//
// It is deterministic for a seed, so benchmarks are repeatable.
type eventGen struct {
	rng      *rand.Rand
	now      time.Time
	accounts []genAccount
	regions  []string
	apis     []genAPI
	agents   []string
}

type genAccount struct {
	id    string
	users []genPrincipal
	roles []genPrincipal
	ips   []string
}

type genPrincipal struct {
	name        string
	principalID string
	accessKey   string // AKIA… for users; the current ASIA… session key for roles
	session     string // role session name
	sessionAge  int    // events since the session key was issued
	created     time.Time
}

// genAPI is one API call shape: its service, name, whether it is read-only,
// and the builders of its requestParameters, responseElements and resources.
type genAPI struct {
	source, name string
	readOnly     bool
	params       func(g *eventGen, a *genAccount, region string) string
	response     func(g *eventGen, a *genAccount, region string) string
	resource     string // resource type; "" for none
}

func newEventGen(seed uint64, start time.Time) *eventGen {
	g := &eventGen{
		rng:     rand.New(rand.NewPCG(seed, seed^0x5eed)),
		now:     start,
		regions: []string{"us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"},
		agents: []string{
			"aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-1016-aws exe/x86_64.ubuntu.22 prompt/off command/ec2.describe-instances",
			"Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10.213-201.855.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69",
			"APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.42.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.26.0 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.152.0",
			"AWS Internal",
			"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36",
			"aws-sdk-java/2.25.16 Linux/5.10.213-201.855.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/standard",
			"aws-sdk-go/1.51.6 (go1.22.1; linux; amd64)",
			"console.amazonaws.com",
		},
	}
	for range 20 {
		a := genAccount{id: g.digits(12)}
		for _, u := range []string{"alice", "bob", "carol", "deploy-bot", "ci-runner"} {
			a.users = append(a.users, genPrincipal{
				name: u, principalID: "AIDA" + g.upper(17), accessKey: "AKIA" + g.upper(16),
				created: start.Add(-time.Duration(g.rng.IntN(1000)) * time.Hour),
			})
		}
		for _, r := range []string{"OrganizationAccountAccessRole", "AWSReservedSSO_AdministratorAccess_4f1c2b9a7d3e", "eks-node-group-role", "lambda-ingest-role"} {
			a.roles = append(a.roles, genPrincipal{
				name: r, principalID: "AROA" + g.upper(17), accessKey: "ASIA" + g.upper(16),
				session: g.sessionName(), created: start,
			})
		}
		for range 4 {
			a.ips = append(a.ips, fmt.Sprintf("%d.%d.%d.%d", 3+g.rng.IntN(200), g.rng.IntN(256), g.rng.IntN(256), 1+g.rng.IntN(254)))
		}
		a.ips = append(a.ips, "10.0."+strconv.Itoa(g.rng.IntN(256))+"."+strconv.Itoa(1+g.rng.IntN(254)))
		g.accounts = append(g.accounts, a)
	}
	g.apis = genAPIs()
	return g
}

// batch returns n new events.
func (g *eventGen) batch(n int) []*cairnv1.Event {
	events := make([]*cairnv1.Event, n)
	for i := range events {
		events[i] = g.next()
	}
	return events
}

// next returns one new event. Time advances ~5 ms per event; 5% of events
// are late by up to an hour, as AWS delivers them.
func (g *eventGen) next() *cairnv1.Event {
	g.now = g.now.Add(time.Duration(g.rng.IntN(10_000)) * time.Microsecond)
	at := g.now
	if g.rng.IntN(20) == 0 {
		at = at.Add(-time.Duration(g.rng.IntN(3600)) * time.Second)
	}
	at = at.Truncate(time.Second) // eventTime has second precision
	a := &g.accounts[zipf(g.rng, len(g.accounts))]
	region := g.regions[zipf(g.rng, len(g.regions))]
	api := &g.apis[zipf(g.rng, len(g.apis))]

	var (
		b        []byte
		username string
		keyID    string
	)
	b = append(b, `{"eventVersion":"1.09","userIdentity":{`...)
	switch k := g.rng.IntN(10); {
	case k < 4: // IAM user
		u := &a.users[g.rng.IntN(len(a.users))]
		username, keyID = u.name, u.accessKey
		b = fmt.Appendf(b, `"type":"IAMUser","principalId":"%s","arn":"arn:aws:iam::%s:user/%s","accountId":"%s","accessKeyId":"%s","userName":"%s"`,
			u.principalID, a.id, u.name, a.id, u.accessKey, u.name)
	case k < 9: // assumed role
		r := &a.roles[g.rng.IntN(len(a.roles))]
		r.sessionAge++
		if r.sessionAge > 200 {
			r.accessKey, r.session, r.sessionAge, r.created = "ASIA"+g.upper(16), g.sessionName(), 0, at
		}
		username, keyID = r.session, r.accessKey
		b = fmt.Appendf(b, `"type":"AssumedRole","principalId":"%s:%s","arn":"arn:aws:sts::%s:assumed-role/%s/%s","accountId":"%s","accessKeyId":"%s",`+
			`"sessionContext":{"sessionIssuer":{"type":"Role","principalId":"%s","arn":"arn:aws:iam::%s:role/%s","accountId":"%s","userName":"%s"},"webIdFederationData":{},`+
			`"attributes":{"creationDate":"%s","mfaAuthenticated":"false"}}`,
			r.principalID, r.session, a.id, r.name, r.session, a.id, r.accessKey,
			r.principalID, a.id, r.name, a.id, r.name, r.created.UTC().Format(time.RFC3339))
	default: // AWS service
		b = fmt.Appendf(b, `"type":"AWSService","invokedBy":"%s"`, api.source)
	}
	eventID := g.uuid()
	ip := a.ips[g.rng.IntN(len(a.ips))]
	agent := g.agents[zipf(g.rng, len(g.agents))]
	b = fmt.Appendf(b, `},"eventTime":"%s","eventSource":"%s","eventName":"%s","awsRegion":"%s","sourceIPAddress":"%s","userAgent":"%s",`,
		at.UTC().Format(time.RFC3339), api.source, api.name, region, ip, agent)
	errorCode := ""
	if g.rng.IntN(12) == 0 {
		errorCode = "AccessDenied"
		b = fmt.Appendf(b, `"errorCode":"AccessDenied","errorMessage":"User: arn:aws:sts::%s:assumed-role/%s is not authorized to perform: %s:%s because no identity-based policy allows the action",`,
			a.id, username, api.source[:len(api.source)-len(".amazonaws.com")], api.name)
	}
	b = fmt.Appendf(b, `"requestParameters":%s,"responseElements":%s,`, api.params(g, a, region), api.response(g, a, region))
	if api.source == "s3.amazonaws.com" {
		b = fmt.Appendf(b, `"additionalEventData":{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredIn":0,"AuthenticationMethod":"AuthHeader","x-amz-id-2":"%s","bytesTransferredOut":%d},`,
			g.base64(76), g.rng.IntN(4000))
	}
	b = fmt.Appendf(b, `"requestID":"%s","eventID":"%s","readOnly":%t,`, g.uuid(), eventID, api.readOnly)
	var resources []*cairnv1.Resource
	if api.resource != "" {
		arn := fmt.Sprintf("arn:aws:%s:%s:%s:%s/%s", api.source[:len(api.source)-len(".amazonaws.com")], region, a.id, api.resource, g.resourceName())
		resources = append(resources, &cairnv1.Resource{Name: arn, Type: api.resource})
		b = fmt.Appendf(b, `"resources":[{"accountId":"%s","type":"%s","ARN":"%s"}],`, a.id, api.resource, arn)
	}
	b = fmt.Appendf(b, `"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"%s","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"%s.%s.amazonaws.com"}}`,
		a.id, api.source[:len(api.source)-len(".amazonaws.com")], region)

	return &cairnv1.Event{
		Raw:               b,
		EventId:           eventID,
		EventTimeUnixNano: at.UnixNano(),
		Account:           a.id,
		Region:            region,
		EventName:         api.name,
		EventSource:       api.source,
		Username:          username,
		AccessKeyId:       keyID,
		ReadOnly:          strconv.FormatBool(api.readOnly),
		ErrorCode:         errorCode,
		SourceIp:          ip,
		EventCategory:     "Management",
		Resources:         resources,
	}
}

// zipf picks an index in [0, n), favouring small ones (a few accounts, regions
// and APIs produce most events, as in real organisations).
func zipf(rng *rand.Rand, n int) int {
	for {
		if i := int(rng.ExpFloat64() * float64(n) / 4); i < n {
			return i
		}
	}
}

func (g *eventGen) uuid() string {
	const hex = "0123456789abcdef"
	b := make([]byte, 36)
	for i := range b {
		switch i {
		case 8, 13, 18, 23:
			b[i] = '-'
		case 14:
			b[i] = '4'
		default:
			b[i] = hex[g.rng.IntN(16)]
		}
	}
	return string(b)
}

func (g *eventGen) chars(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[g.rng.IntN(len(alphabet))]
	}
	return string(b)
}

func (g *eventGen) digits(n int) string { return g.chars(n, "0123456789") }
func (g *eventGen) upper(n int) string  { return g.chars(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") }
func (g *eventGen) base64(n int) string {
	return g.chars(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
}
func (g *eventGen) lowerHex(n int) string { return g.chars(n, "0123456789abcdef") }

func (g *eventGen) sessionName() string {
	switch g.rng.IntN(3) {
	case 0:
		return "i-0" + g.lowerHex(16)
	case 1:
		return "botocore-session-" + g.digits(10)
	default:
		return []string{"alice@example.com", "bob@example.com", "carol@example.com"}[g.rng.IntN(3)]
	}
}

// resourceName picks from a small per-run pool, as real workloads touch the
// same buckets, instances and keys again and again.
func (g *eventGen) resourceName() string {
	return fmt.Sprintf("%s-%02d", []string{"prod-data", "logs", "payments-api", "etl", "web"}[g.rng.IntN(5)], g.rng.IntN(30))
}

func genAPIs() []genAPI {
	null := func(*eventGen, *genAccount, string) string { return "null" }
	instance := func(g *eventGen, _ *genAccount, _ string) string {
		return fmt.Sprintf(`{"instancesSet":{"items":[{"instanceId":"i-0%s"}]},"filterSet":{}}`, g.lowerHex(16))
	}
	filters := func(g *eventGen, _ *genAccount, _ string) string {
		return fmt.Sprintf(`{"filterSet":{"items":[{"name":"tag:Environment","valueSet":{"items":[{"value":"%s"}]}}]},"maxResults":%d}`,
			[]string{"prod", "staging", "dev"}[g.rng.IntN(3)], 100*(1+g.rng.IntN(10)))
	}
	bucket := func(g *eventGen, a *genAccount, region string) string {
		name := g.resourceName()
		return fmt.Sprintf(`{"bucketName":"%s-%s","Host":"%s-%s.s3.%s.amazonaws.com","acl":""}`, name, a.id, name, a.id, region)
	}
	object := func(g *eventGen, a *genAccount, region string) string {
		name := g.resourceName()
		return fmt.Sprintf(`{"bucketName":"%s-%s","Host":"%s-%s.s3.%s.amazonaws.com","key":"year=2026/month=03/day=%02d/part-%05d-%s.snappy.parquet"}`,
			name, a.id, name, a.id, region, 1+g.rng.IntN(28), g.rng.IntN(100000), g.uuid())
	}
	kms := func(g *eventGen, a *genAccount, region string) string {
		return fmt.Sprintf(`{"encryptionAlgorithm":"SYMMETRIC_DEFAULT","keyId":"arn:aws:kms:%s:%s:key/%s","encryptionContext":{"aws:s3:arn":"arn:aws:s3:::%s-%s"}}`,
			region, a.id, []string{"0e5d0ab6-097e-49d8-99ef-747ce3e5f8f4", "7c1f4a2e-5b0d-4f3a-9e8b-2d6c1a9f0b3e"}[g.rng.IntN(2)], g.resourceName(), a.id)
	}
	param := func(g *eventGen, _ *genAccount, _ string) string {
		return fmt.Sprintf(`{"name":"/%s/config/%s","withDecryption":true}`, g.resourceName(), []string{"db-password", "api-key", "endpoint"}[g.rng.IntN(3)])
	}
	role := func(g *eventGen, a *genAccount, _ string) string {
		return fmt.Sprintf(`{"roleName":"%s"}`, a.roles[g.rng.IntN(len(a.roles))].name)
	}
	user := func(g *eventGen, a *genAccount, _ string) string {
		return fmt.Sprintf(`{"userName":"%s"}`, a.users[g.rng.IntN(len(a.users))].name)
	}
	logGroup := func(g *eventGen, _ *genAccount, _ string) string {
		return fmt.Sprintf(`{"logGroupName":"/aws/lambda/%s","logStreamNamePrefix":"2026/03/%02d/[$LATEST]","limit":50}`, g.resourceName(), 1+g.rng.IntN(28))
	}
	secret := func(g *eventGen, a *genAccount, region string) string {
		return fmt.Sprintf(`{"secretId":"arn:aws:secretsmanager:%s:%s:secret:%s-%s"}`, region, a.id, g.resourceName(), g.base64(6))
	}
	assumeRole := func(g *eventGen, a *genAccount, _ string) string {
		r := a.roles[g.rng.IntN(len(a.roles))]
		return fmt.Sprintf(`{"roleArn":"arn:aws:iam::%s:role/%s","roleSessionName":"%s","durationSeconds":3600}`, a.id, r.name, g.sessionName())
	}
	credentials := func(g *eventGen, a *genAccount, _ string) string {
		return fmt.Sprintf(`{"credentials":{"accessKeyId":"ASIA%s","sessionToken":"IQoJb3JpZ2luX2VjE%s","expiration":"Mar 1, 2026, 1:00:00 PM"},"assumedRoleUser":{"assumedRoleId":"AROA%s:%s","arn":"arn:aws:sts::%s:assumed-role/%s"}}`,
			g.upper(16), g.base64(600), g.upper(17), g.sessionName(), a.id, a.roles[0].name)
	}
	runInstances := func(g *eventGen, _ *genAccount, _ string) string {
		return fmt.Sprintf(`{"requestId":"%s","reservationId":"r-0%s","instancesSet":{"items":[{"instanceId":"i-0%s","imageId":"ami-0%s","instanceState":{"code":0,"name":"pending"},"privateDnsName":"ip-10-0-%d-%d.ec2.internal","instanceType":"m7g.large","launchTime":1772366400000,"subnetId":"subnet-0%s","vpcId":"vpc-0%s","privateIpAddress":"10.0.%d.%d"}]}}`,
			g.uuid(), g.lowerHex(16), g.lowerHex(16), g.lowerHex(16), g.rng.IntN(256), g.rng.IntN(256), g.lowerHex(16), g.lowerHex(16), g.rng.IntN(256), g.rng.IntN(256))
	}
	putParam := func(g *eventGen, _ *genAccount, _ string) string {
		return fmt.Sprintf(`{"version":%d,"tier":"Standard"}`, 1+g.rng.IntN(40))
	}
	api := func(source, name string, readOnly bool, params, response func(*eventGen, *genAccount, string) string, resource string) genAPI {
		return genAPI{source: source + ".amazonaws.com", name: name, readOnly: readOnly, params: params, response: response, resource: resource}
	}
	return []genAPI{
		api("kms", "Decrypt", true, kms, null, "AWS::KMS::Key"),
		api("s3", "GetObject", true, object, null, "AWS::S3::Object"),
		api("sts", "AssumeRole", false, assumeRole, credentials, "AWS::IAM::Role"),
		api("ec2", "DescribeInstances", true, instance, null, ""),
		api("logs", "DescribeLogStreams", true, logGroup, null, ""),
		api("ssm", "GetParameter", true, param, null, "AWS::SSM::Parameter"),
		api("s3", "PutObject", false, object, null, "AWS::S3::Object"),
		api("kms", "GenerateDataKey", true, kms, null, "AWS::KMS::Key"),
		api("ec2", "DescribeSecurityGroups", true, filters, null, ""),
		api("secretsmanager", "GetSecretValue", true, secret, null, "AWS::SecretsManager::Secret"),
		api("iam", "GetRole", true, role, null, ""),
		api("s3", "GetBucketAcl", true, bucket, null, "AWS::S3::Bucket"),
		api("ec2", "DescribeVpcs", true, filters, null, ""),
		api("ec2", "DescribeSubnets", true, filters, null, ""),
		api("ec2", "DescribeRouteTables", true, filters, null, ""),
		api("logs", "CreateLogStream", false, logGroup, null, ""),
		api("iam", "ListAttachedRolePolicies", true, role, null, ""),
		api("s3", "ListObjects", true, bucket, null, "AWS::S3::Bucket"),
		api("ssm", "DescribeParameters", true, filters, null, ""),
		api("ec2", "DescribeNetworkInterfaces", true, filters, null, ""),
		api("iam", "GetUser", true, user, null, ""),
		api("sts", "GetCallerIdentity", true, null, null, ""),
		api("ec2", "DescribeVolumes", true, filters, null, ""),
		api("s3", "GetBucketPolicy", true, bucket, null, "AWS::S3::Bucket"),
		api("kms", "Encrypt", true, kms, null, "AWS::KMS::Key"),
		api("iam", "ListRolePolicies", true, role, null, ""),
		api("ssm", "PutParameter", false, param, putParam, "AWS::SSM::Parameter"),
		api("ec2", "DescribeImages", true, filters, null, ""),
		api("lambda", "GetFunction", true, logGroup, null, ""),
		api("ec2", "RunInstances", false, instance, runInstances, "AWS::EC2::Instance"),
		api("iam", "ListUsers", true, null, null, ""),
		api("s3", "GetBucketLocation", true, bucket, null, "AWS::S3::Bucket"),
		api("ec2", "DescribeAvailabilityZones", true, filters, null, ""),
		api("secretsmanager", "DescribeSecret", true, secret, null, "AWS::SecretsManager::Secret"),
		api("iam", "CreateAccessKey", false, user, null, ""),
		api("ec2", "TerminateInstances", false, instance, null, "AWS::EC2::Instance"),
		api("logs", "PutRetentionPolicy", false, logGroup, null, ""),
		api("s3", "DeleteObject", false, object, null, "AWS::S3::Object"),
		api("iam", "AttachRolePolicy", false, role, null, ""),
		api("ec2", "AuthorizeSecurityGroupIngress", false, filters, null, ""),
	}
}
