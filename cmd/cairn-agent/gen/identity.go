package gen

import "strings"

// class is a kind of caller. A template says which classes make its call.
type class uint8

const (
	clsHuman    class = iota // people: IAM users (keys or console), SSO roles
	clsCI                    // pipelines: IAM users with keys, CI roles
	clsInstance              // EC2 instance profiles
	clsLambda                // Lambda execution roles
	clsTask                  // ECS task roles
	nClasses
)

// identity is one principal of an account with its userIdentity object
// rendered once. Sessions carry a creationDate, written per event between
// head and tail.
type identity struct {
	class   class
	head    []byte // the userIdentity object, up to the creationDate value when session
	tail    []byte // the rest of the object after the creationDate value
	session bool
	console bool   // acts through the console (sessionCredentialFromConsole)
	arn     string // for error messages
	ips     []string
	private string // private address, for calls through a VPC endpoint ("" if none)
	agents  []string
}

// account holds one account's principals and resource names.
type account struct {
	id         string
	home       string // home region
	byClass    [nClasses][]*identity
	root       *identity
	users      []string
	roles      []string
	buckets    []string
	keys       []string // KMS key ids
	functions  []string
	secrets    []string // secret names
	params     []string // SSM parameter names
	instances  []string
	groups     []string // security groups
	subnets    []string
	vpcs       []string
	tables     []string
	amis       []string
	vpce       string
	trail      string // trail name
	secretTags []string
}

var (
	humanNames = []string{"alice", "bob.nguyen", "carol.smith", "dmitri.ivanov", "erin.obrien", "farah.khan",
		"gustavo.lima", "hana.sato", "ivan.petrov", "julia.meyer", "kwame.mensah", "lena.fischer"}
	ciUsers      = []string{"deploy-bot", "jenkins", "backup-agent", "terraform", "datadog-integration", "gitlab-runner"}
	ssoRoles     = []string{"AdministratorAccess", "ReadOnlyAccess", "PowerUserAccess", "SecurityAudit", "DataEngineer"}
	instanceRole = []string{"app-server-role", "batch-worker-role", "eks-node-group-role", "bastion-role"}
	taskRoles    = []string{"orders-api-task-role", "payments-task-role", "search-indexer-task-role"}
	functions    = []string{"orders-api-handler", "thumbnail-resizer", "invoice-generator", "s3-event-router",
		"nightly-report", "user-signup-hook", "log-shipper", "cache-warmer"}
	bucketStems = []string{"app-assets", "data-lake-raw", "data-lake-curated", "backups", "cloudtrail-logs",
		"tf-state", "user-uploads", "athena-results", "static-site"}
	secretNames = []string{"prod/orders/db", "prod/payments/stripe-key", "prod/search/api-key", "staging/orders/db",
		"rds!db-1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809", "ci/github-token"}
	paramNames = []string{"/app/prod/db/host", "/app/prod/db/port", "/app/prod/feature-flags", "/app/staging/db/host",
		"/cwagent/config", "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64", "/ecs/cluster/name"}
	tableNames  = []string{"orders", "sessions", "inventory", "user-profiles", "idempotency-keys"}
	homeRegions = []string{"us-east-1", "us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"}

	cliAgents = []string{
		"aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/macos#23.4.0 md/arch#arm64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/prompt#off",
		"aws-cli/2.13.5 Python/3.11.4 Linux/6.2.0-1018-aws exe/x86_64.ubuntu.22 prompt/off",
		"aws-cli/1.32.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.15.0-101-generic md/arch#x86_64 lang/python#3.10.12 md/pyimpl#CPython cfg/retry-mode#legacy botocore/1.34.69",
	}
	consoleAgents = []string{
		"AWS Internal",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:124.0) Gecko/20100101 Firefox/124.0",
	}
	ciAgents = []string{
		"APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.43.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/sts#1.28.5",
		"Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#6.5.0-1017-azure md/arch#x86_64 lang/python#3.12.2 exec-env/GitHub-Actions Botocore/1.34.69",
		"aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.2 md/GOOS#linux md/GOARCH#amd64",
	}
	instanceAgents = []string{
		ssmAgent,
		"aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.2 md/GOOS#linux md/GOARCH#amd64 api/s3#1.53.1",
		"[aws-sdk-java/2.25.16 Linux/6.1.79-99.167.amzn2023.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 vendor/Amazon.com_Inc. io/sync http/Apache]",
		"Boto3/1.34.51 md/Botocore#1.34.51 ua/2.0 os/linux#6.1.79 md/arch#x86_64 lang/python#3.9.16 Botocore/1.34.51",
	}
	lambdaAgents = []string{
		"aws-sdk-nodejs/2.1563.0 linux/v18.19.1 exec-env/AWS_Lambda_nodejs18.x promise",
		"Boto3/1.34.42 md/Botocore#1.34.42 ua/2.0 os/linux#5.10.209 md/arch#x86_64 lang/python#3.12.2 exec-env/AWS_Lambda_python3.12 Botocore/1.34.42",
	}
	taskAgents = []string{
		"aws-sdk-go-v2/1.25.3 os/linux lang/go#1.21.8 md/GOOS#linux md/GOARCH#amd64 api/dynamodb#1.30.4",
		"[aws-sdk-java/2.25.16 Linux/5.10.213 OpenJDK_64-Bit_Server_VM/21.0.2+13-LTS Java/21.0.2 exec-env/AWS_ECS_FARGATE]",
	}
)

func (g *Generator) newAccount(id string) *account {
	a := &account{id: id, home: homeRegions[g.intn(len(homeRegions))]}
	suffix := string(g.appendLowerAlnum(nil, 6))
	for _, stem := range pickN(g, bucketStems, 5) {
		a.buckets = append(a.buckets, stem+"-"+suffix)
	}
	for range 4 {
		a.keys = append(a.keys, string(appendUUID(nil, g.rng.Uint64(), g.rng.Uint64())))
	}
	a.functions = pickN(g, functions, 5)
	a.secrets = pickN(g, secretNames, 4)
	for _, s := range a.secrets {
		a.secretTags = append(a.secretTags, s+"-"+string(g.appendMixedAlnum(nil, 6)))
	}
	a.params = pickN(g, paramNames, 5)
	a.tables = pickN(g, tableNames, 3)
	for range 8 {
		a.instances = append(a.instances, string(appendHex([]byte("i-0"), g.rng.Uint64(), 16)))
	}
	for range 4 {
		a.groups = append(a.groups, string(appendHex([]byte("sg-0"), g.rng.Uint64(), 16)))
		a.subnets = append(a.subnets, string(appendHex([]byte("subnet-0"), g.rng.Uint64(), 16)))
	}
	for range 2 {
		a.vpcs = append(a.vpcs, string(appendHex([]byte("vpc-0"), g.rng.Uint64(), 16)))
		a.amis = append(a.amis, string(appendHex([]byte("ami-0"), g.rng.Uint64(), 16)))
	}
	a.vpce = string(appendHex([]byte("vpce-0"), g.rng.Uint64(), 16))
	a.trail = "org-trail"

	// People: IAM users with access keys and console sessions, and SSO roles.
	for _, name := range pickN(g, humanNames, 4) {
		a.users = append(a.users, name)
		ips := []string{g.ip(), g.ip()}
		a.add(clsHuman, g.iamUser(a, name, false, ips, cliAgents))
		a.add(clsHuman, g.iamUser(a, name, true, ips, consoleAgents))
	}
	for _, r := range pickN(g, ssoRoles, 2) {
		role := "AWSReservedSSO_" + r + "_" + string(appendHex(nil, g.rng.Uint64(), 16))
		a.roles = append(a.roles, role)
		for _, who := range pickN(g, humanNames, 3) {
			email := who + "@example.com"
			console := g.intn(2) == 0
			agents := cliAgents
			if console {
				agents = consoleAgents
			}
			a.add(clsHuman, g.assumedRole(a, role, "aws-reserved/sso.amazonaws.com/", email, console, "", []string{g.ip()}, agents))
		}
	}
	// Pipelines.
	for _, name := range pickN(g, ciUsers, 4) {
		a.users = append(a.users, name)
		agents := ciAgents[1:]
		if name == "terraform" {
			agents = ciAgents[:1]
		}
		a.add(clsCI, g.iamUser(a, name, false, []string{g.ip()}, agents))
	}
	a.roles = append(a.roles, "github-actions-deploy", "terraform-ci")
	a.add(clsCI, g.assumedRole(a, "github-actions-deploy", "", "GitHubActions", false, "", []string{g.ip(), g.ip()}, ciAgents[1:2]))
	a.add(clsCI, g.assumedRole(a, "terraform-ci", "", "aws-go-sdk-"+string(appendUint(nil, 1_700_000_000_000_000_000+g.uint64n(1e17))), false, "", []string{g.ip()}, ciAgents[:1]))
	// Machines.
	for i, role := range pickN(g, instanceRole, 3) {
		a.roles = append(a.roles, role)
		for _, inst := range a.instances[i*2 : i*2+2] {
			id := g.assumedRole(a, role, "", inst, false, `,"ec2RoleDelivery":"2.0"`, []string{g.ip()}, instanceAgents)
			id.private = g.privateIP()
			a.add(clsInstance, id)
		}
	}
	for _, fn := range a.functions {
		role := fn + "-role-" + string(g.appendLowerAlnum(nil, 8))
		a.roles = append(a.roles, role)
		a.add(clsLambda, g.assumedRole(a, role, "service-role/", fn, false, "", []string{g.ip()}, lambdaAgents[g.intn(len(lambdaAgents)):][:1]))
	}
	for _, role := range pickN(g, taskRoles, 2) {
		a.roles = append(a.roles, role)
		for range 2 {
			task := string(appendHex(appendHex(nil, g.rng.Uint64(), 16), g.rng.Uint64(), 16))
			id := g.assumedRole(a, role, "", task, false, "", []string{g.ip()}, taskAgents)
			id.private = g.privateIP()
			a.add(clsTask, id)
		}
	}
	a.root = g.rootUser(a)
	return a
}

func (a *account) add(c class, id *identity) {
	id.class = c
	a.byClass[c] = append(a.byClass[c], id)
}

// iamUser renders an IAM user, with an access key or a console session.
func (g *Generator) iamUser(a *account, name string, console bool, ips, agents []string) *identity {
	arn := "arn:aws:iam::" + a.id + ":user/" + name
	b := []byte(`{"type":"IAMUser","principalId":"AIDA`)
	b = g.appendKeyChars(b, 17)
	b = append(b, `","arn":`...)
	b = appendString(b, arn)
	b = append(b, `,"accountId":"`...)
	b = append(b, a.id...)
	id := &identity{arn: arn, ips: ips, agents: agents, console: console}
	if !console {
		b = append(b, `","accessKeyId":"AKIA`...)
		b = g.appendKeyChars(b, 16)
		b = append(b, `",`...)
		b = appendKV(b, "userName", name)
		id.head = append(b, '}')
		return id
	}
	b = append(b, `","accessKeyId":"ASIA`...)
	b = g.appendKeyChars(b, 16)
	b = append(b, `",`...)
	b = appendKV(b, "userName", name)
	b = append(b, `,"sessionContext":{"sessionIssuer":{},"webIdFederationData":{},"attributes":{"creationDate":"`...)
	id.head, id.tail, id.session = b, []byte(`","mfaAuthenticated":"true"}}}`), true
	return id
}

// assumedRole renders a role session. path is the role's IAM path without
// the leading "/" ("" for "/"); extra is appended to sessionContext.
func (g *Generator) assumedRole(a *account, role, path, session string, console bool, extra string, ips, agents []string) *identity {
	roleID := string(g.appendKeyChars([]byte("AROA"), 17))
	arn := "arn:aws:sts::" + a.id + ":assumed-role/" + role + "/" + session
	b := []byte(`{"type":"AssumedRole",`)
	b = appendKV(b, "principalId", roleID+":"+session)
	b = append(b, ',')
	b = appendKV(b, "arn", arn)
	b = append(b, `,"accountId":"`...)
	b = append(b, a.id...)
	b = append(b, `","accessKeyId":"ASIA`...)
	b = g.appendKeyChars(b, 16)
	b = append(b, `","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"`...)
	b = append(b, roleID...)
	b = append(b, `",`...)
	b = appendKV(b, "arn", "arn:aws:iam::"+a.id+":role/"+path+role)
	b = append(b, `,"accountId":"`...)
	b = append(b, a.id...)
	b = append(b, `",`...)
	b = appendKV(b, "userName", role)
	b = append(b, `},"webIdFederationData":{},"attributes":{"creationDate":"`...)
	mfa := "false"
	if console {
		mfa = "true"
	}
	tail := `","mfaAuthenticated":"` + mfa + `"}` + extra + `}}`
	return &identity{head: b, tail: []byte(tail), session: true, console: console, arn: arn, ips: ips, agents: agents}
}

func (g *Generator) rootUser(a *account) *identity {
	arn := "arn:aws:iam::" + a.id + ":root"
	b := []byte(`{"type":"Root","principalId":"`)
	b = append(b, a.id...)
	b = append(b, `","arn":"`...)
	b = append(b, arn...)
	b = append(b, `","accountId":"`...)
	b = append(b, a.id...)
	b = append(b, `","accessKeyId":"ASIA`...)
	b = g.appendKeyChars(b, 16)
	b = append(b, `","sessionContext":{"sessionIssuer":{},"webIdFederationData":{},"attributes":{"creationDate":"`...)
	return &identity{class: clsHuman, head: b, tail: []byte(`","mfaAuthenticated":"true"}}}`), session: true,
		console: true, arn: arn, ips: []string{g.ip()}, agents: consoleAgents[1:]}
}

// caller picks who makes the call: an AWS service (for calls services make),
// rarely the root user, else an identity of one of the template's classes.
func (g *Generator) caller(e *draft, t *template) {
	switch {
	case len(t.services) > 0 && g.intn(100) < t.servicePct:
		e.service = t.services[g.intn(len(t.services))]
		e.ip, e.agent = e.service, e.service
		return
	case t.rootOK && g.intn(1000) < 3:
		e.id = e.a.root
	default:
		ids := e.a.byClass[t.classes[g.intn(len(t.classes))]]
		e.id = ids[g.intn(len(ids))]
	}
	e.ip = e.id.ips[g.intn(len(e.id.ips))]
	e.agent = e.id.agents[g.intn(len(e.id.agents))]
	if t.agent != "" {
		e.agent = t.agent
	}
	if t.s3 && t.data && e.id.private != "" && g.intn(10) < 4 {
		e.vpce, e.ip = true, e.id.private
	}
}

func (g *Generator) appendIdentity(dst []byte, e *draft) []byte {
	if e.id == nil {
		dst = append(dst, `{"type":"AWSService","invokedBy":"`...)
		dst = append(dst, e.service...)
		return append(dst, `"}`...)
	}
	dst = append(dst, e.id.head...)
	if e.id.session {
		dst = appendTime(dst, e.t-int64(60+g.intn(3600)))
		dst = append(dst, e.id.tail...)
	}
	return dst
}

// ip returns an address from the pool of public addresses.
func (g *Generator) ip() string { return g.ips[g.intn(len(g.ips))] }

var publicFirstOctets = []uint64{3, 13, 18, 34, 35, 44, 52, 54, 63, 72, 81, 86, 91, 98, 104, 109, 145, 176, 185, 212}

func (g *Generator) newIPs(n int) []string {
	ips := make([]string, n)
	for i := range ips {
		b := appendUint(nil, publicFirstOctets[g.intn(len(publicFirstOctets))])
		for range 3 {
			b = append(b, '.')
			b = appendUint(b, g.uint64n(254)+1)
		}
		ips[i] = string(b)
	}
	return ips
}

func (g *Generator) privateIP() string {
	b := []byte("10.")
	b = appendUint(b, g.uint64n(4))
	b = append(b, '.')
	b = appendUint(b, g.uint64n(256))
	b = append(b, '.')
	b = appendUint(b, g.uint64n(254)+1)
	return string(b)
}

// newTokens returns session tokens in the shape STS returns them.
func (g *Generator) newTokens(n int) []string {
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	tokens := make([]string, n)
	for i := range tokens {
		var sb strings.Builder
		sb.WriteString("IQoJb3JpZ2luX2VjE")
		for range 300 {
			sb.WriteByte(b64[g.intn(64)])
		}
		tokens[i] = sb.String()
	}
	return tokens
}

const keyChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// appendKeyChars appends n characters of the alphabet of IAM unique ids.
func (g *Generator) appendKeyChars(dst []byte, n int) []byte {
	for range n {
		dst = append(dst, keyChars[g.intn(len(keyChars))])
	}
	return dst
}

func (g *Generator) appendLowerAlnum(dst []byte, n int) []byte {
	const chars = "abcdefghijklmnopqrstuvwxyz0123456789"
	for range n {
		dst = append(dst, chars[g.intn(len(chars))])
	}
	return dst
}

func (g *Generator) appendMixedAlnum(dst []byte, n int) []byte {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	for range n {
		dst = append(dst, chars[g.intn(len(chars))])
	}
	return dst
}

// pickN returns n distinct elements of list (all of it when n ≥ len(list)).
func pickN(g *Generator, list []string, n int) []string {
	idx := make([]int, len(list))
	for i := range idx {
		idx[i] = i
	}
	for i := len(idx) - 1; i > 0; i-- {
		j := g.intn(i + 1)
		idx[i], idx[j] = idx[j], idx[i]
	}
	n = min(n, len(list))
	out := make([]string, n)
	for i := range out {
		out[i] = list[idx[i]]
	}
	return out
}
