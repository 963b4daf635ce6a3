package gen

// Request parameters, response elements and resources of S3, KMS, Secrets
// Manager and DynamoDB calls, shaped like the records AWS writes.

func (g *Generator) pick(list []string) string { return list[g.intn(len(list))] }

// objectKey writes a plausible object key into g.key and sets e.obj.
func (g *Generator) objectKey(e *draft) {
	k := g.key[:0]
	y, m, d := civil(e.t / 86400)
	switch g.intn(100) {
	case 0: // rare: a key that needs escaping and is not ASCII
		k = append(k, `reports/Q1 résumé "final" \ draft.pdf`...)
	default:
		switch g.intn(5) {
		case 0:
			k = append(k, "logs/"...)
			k = appendDate(k, y, m, d, '/')
			k = append(k, "/app-"...)
			k = appendUint(k, g.uint64n(100000))
			k = append(k, ".json.gz"...)
		case 1:
			k = append(k, "uploads/"...)
			k = appendUUID(k, g.rng.Uint64(), g.rng.Uint64())
			k = append(k, ".jpg"...)
		case 2:
			k = append(k, "warehouse/orders/dt="...)
			k = appendDate(k, y, m, d, '-')
			k = append(k, "/part-"...)
			k = appendHex(k, g.uint64n(1<<20), 5)
			k = append(k, "-c000.snappy.parquet"...)
		case 3:
			k = append(k, "backups/postgres/orders-"...)
			k = appendDate(k, y, m, d, 0)
			k = append(k, ".dump.gz"...)
		default:
			k = append(k, "static/js/main."...)
			k = appendHex(k, g.rng.Uint64(), 8)
			k = append(k, ".chunk.js"...)
		}
	}
	g.key = k
	e.obj = k
}

// appendDate appends YYYY<sep>MM<sep>DD (no separator when sep is 0).
func appendDate(dst []byte, y, m, d int, sep byte) []byte {
	var b [4]byte
	put4(b[:], y)
	dst = append(dst, b[:]...)
	if sep != 0 {
		dst = append(dst, sep)
	}
	put2(b[:], m)
	dst = append(dst, b[:2]...)
	if sep != 0 {
		dst = append(dst, sep)
	}
	put2(b[:], d)
	return append(dst, b[:2]...)
}

func appendS3Host(dst []byte, e *draft) []byte {
	dst = append(dst, e.bucket...)
	dst = append(dst, ".s3."...)
	dst = append(dst, e.region...)
	return append(dst, ".amazonaws.com"...)
}

func s3ObjectRequest(g *Generator, e *draft, dst []byte) []byte {
	e.bucket = g.pick(e.a.buckets)
	g.objectKey(e)
	dst = append(dst, `{"bucketName":"`...)
	dst = append(dst, e.bucket...)
	dst = append(dst, `","Host":"`...)
	dst = appendS3Host(dst, e)
	dst = append(dst, `","key":"`...)
	dst = appendEscapedBytes(dst, e.obj)
	return append(dst, `"}`...)
}

func s3PutRequest(g *Generator, e *draft, dst []byte) []byte {
	dst = s3ObjectRequest(g, e, dst)
	if e.n = g.uint64n(2); e.n == 0 { // half the buckets use SSE-KMS, half the default SSE-S3
		dst = dst[:len(dst)-1]
		dst = append(dst, `,"x-amz-server-side-encryption":"aws:kms"}`...)
	}
	return dst
}

func s3PutResponse(g *Generator, e *draft, dst []byte) []byte {
	if e.n != 0 {
		return append(dst, `{"x-amz-server-side-encryption":"AES256"}`...)
	}
	dst = append(dst, `{"x-amz-server-side-encryption":"aws:kms","x-amz-server-side-encryption-aws-kms-key-id":"arn:aws:kms:`...)
	dst = append(dst, e.region...)
	dst = append(dst, ':')
	dst = append(dst, e.a.id...)
	dst = append(dst, `:key/`...)
	dst = append(dst, e.a.keys[0]...)
	return append(dst, `"}`...)
}

func listObjectsRequest(g *Generator, e *draft, dst []byte) []byte {
	e.bucket = g.pick(e.a.buckets)
	dst = append(dst, `{"list-type":"2","bucketName":"`...)
	dst = append(dst, e.bucket...)
	dst = append(dst, `","encoding-type":"url","max-keys":"1000","prefix":"`...)
	dst = append(dst, g.pick([]string{"logs/", "uploads/", "warehouse/orders/", "backups/", ""})...)
	dst = append(dst, `","Host":"`...)
	dst = appendS3Host(dst, e)
	return append(dst, `"}`...)
}

func bucketACLRequest(g *Generator, e *draft, dst []byte) []byte {
	e.bucket = g.pick(e.a.buckets)
	dst = append(dst, `{"bucketName":"`...)
	dst = append(dst, e.bucket...)
	dst = append(dst, `","Host":"`...)
	dst = appendS3Host(dst, e)
	return append(dst, `","acl":""}`...)
}

func listBucketsRequest(g *Generator, e *draft, dst []byte) []byte {
	return append(dst, `{"Host":"s3.amazonaws.com"}`...)
}

func putBucketPolicyRequest(g *Generator, e *draft, dst []byte) []byte {
	e.bucket = g.pick(e.a.buckets)
	dst = append(dst, `{"bucketPolicy":{"Version":"2012-10-17","Statement":[{"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::`...)
	dst = append(dst, e.bucket...)
	dst = append(dst, `","arn:aws:s3:::`...)
	dst = append(dst, e.bucket...)
	dst = append(dst, `/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]},"bucketName":"`...)
	dst = append(dst, e.bucket...)
	dst = append(dst, `","Host":"`...)
	dst = appendS3Host(dst, e)
	return append(dst, `","policy":""}`...)
}

// s3Extra is additionalEventData of a call that moves no object bytes.
func s3Extra(g *Generator, e *draft, dst []byte) []byte {
	return g.appendS3Extra(dst, 0, 512+g.uint64n(8192))
}

func s3GetExtra(g *Generator, e *draft, dst []byte) []byte {
	if e.failed {
		return g.appendS3Extra(dst, 0, 243)
	}
	return g.appendS3Extra(dst, 0, g.uint64n(4<<20))
}

func s3PutExtra(g *Generator, e *draft, dst []byte) []byte {
	if e.failed {
		return g.appendS3Extra(dst, 0, 243)
	}
	return g.appendS3Extra(dst, g.uint64n(4<<20), 0)
}

func s3HeadExtra(g *Generator, e *draft, dst []byte) []byte {
	return g.appendS3Extra(dst, 0, 0)
}

func (g *Generator) appendS3Extra(dst []byte, in, out uint64) []byte {
	dst = append(dst, `{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredIn":`...)
	dst = appendUint(dst, in)
	dst = append(dst, `,"AuthenticationMethod":"AuthHeader","x-amz-id-2":"`...)
	dst = g.appendBase64(dst, 76)
	dst = append(dst, `","bytesTransferredOut":`...)
	dst = appendUint(dst, out)
	return append(dst, '}')
}

func s3ObjectResources(g *Generator, e *draft, dst []byte) []byte {
	dst = append(dst, `{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::`...)
	dst = append(dst, e.bucket...)
	dst = append(dst, '/')
	dst = appendEscapedBytes(dst, g.key)
	dst = append(dst, `"},`...)
	return s3BucketResource(g, e, dst)
}

func s3BucketResource(g *Generator, e *draft, dst []byte) []byte {
	dst = append(dst, `{"accountId":"`...)
	dst = append(dst, e.a.id...)
	dst = append(dst, `","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::`...)
	dst = append(dst, e.bucket...)
	return append(dst, `"}`...)
}

func appendKeyARN(dst []byte, e *draft) []byte {
	dst = append(dst, "arn:aws:kms:"...)
	dst = append(dst, e.region...)
	dst = append(dst, ':')
	dst = append(dst, e.a.id...)
	dst = append(dst, ":key/"...)
	return append(dst, e.name...)
}

func kmsDecryptRequest(g *Generator, e *draft, dst []byte) []byte {
	e.name = g.pick(e.a.keys)
	dst = append(dst, `{"encryptionAlgorithm":"SYMMETRIC_DEFAULT","encryptionContext":{`...)
	switch {
	case e.service == "secretsmanager.amazonaws.com" || g.intn(3) == 0:
		dst = append(dst, `"SecretARN":"arn:aws:secretsmanager:`...)
		dst = append(dst, e.region...)
		dst = append(dst, ':')
		dst = append(dst, e.a.id...)
		dst = append(dst, `:secret:`...)
		dst = appendEscaped(dst, g.pick(e.a.secretTags))
		dst = append(dst, `","SecretVersionId":"`...)
		dst = appendUUID(dst, g.rng.Uint64(), g.rng.Uint64())
		dst = append(dst, '"')
	case g.intn(2) == 0:
		dst = append(dst, `"aws:lambda:FunctionArn":"arn:aws:lambda:`...)
		dst = append(dst, e.region...)
		dst = append(dst, ':')
		dst = append(dst, e.a.id...)
		dst = append(dst, `:function:`...)
		dst = append(dst, g.pick(e.a.functions)...)
		dst = append(dst, '"')
	default:
		e.bucket = g.pick(e.a.buckets)
		g.objectKey(e)
		dst = append(dst, `"aws:s3:arn":"arn:aws:s3:::`...)
		dst = append(dst, e.bucket...)
		dst = append(dst, '/')
		dst = appendEscapedBytes(dst, e.obj)
		dst = append(dst, '"')
	}
	return append(dst, `}}`...)
}

func generateDataKeyRequest(g *Generator, e *draft, dst []byte) []byte {
	e.name = g.pick(e.a.keys)
	e.bucket = g.pick(e.a.buckets)
	g.objectKey(e)
	dst = append(dst, `{"keyId":"`...)
	dst = appendKeyARN(dst, e)
	dst = append(dst, `","encryptionContext":{"aws:s3:arn":"arn:aws:s3:::`...)
	dst = append(dst, e.bucket...)
	dst = append(dst, '/')
	dst = appendEscapedBytes(dst, e.obj)
	return append(dst, `"},"keySpec":"AES_256"}`...)
}

func kmsKeyResource(g *Generator, e *draft, dst []byte) []byte {
	dst = append(dst, `{"accountId":"`...)
	dst = append(dst, e.a.id...)
	dst = append(dst, `","type":"AWS::KMS::Key","ARN":"`...)
	dst = appendKeyARN(dst, e)
	return append(dst, `"}`...)
}

func scheduleKeyDeletionRequest(g *Generator, e *draft, dst []byte) []byte {
	e.name = g.pick(e.a.keys)
	dst = append(dst, `{"keyId":"`...)
	dst = append(dst, e.name...)
	return append(dst, `","pendingWindowInDays":30}`...)
}

func scheduleKeyDeletionResponse(g *Generator, e *draft, dst []byte) []byte {
	dst = append(dst, `{"keyId":"`...)
	dst = appendKeyARN(dst, e)
	dst = append(dst, `","deletionDate":"`...)
	dst = appendLegacyTime(dst, e.t+30*86400)
	return append(dst, `","keyState":"PendingDeletion","pendingWindowInDays":30}`...)
}

func secretRequest(g *Generator, e *draft, dst []byte) []byte {
	dst = append(dst, `{"secretId":"`...)
	if g.intn(2) == 0 {
		dst = appendEscaped(dst, g.pick(e.a.secrets))
	} else {
		dst = append(dst, "arn:aws:secretsmanager:"...)
		dst = append(dst, e.region...)
		dst = append(dst, ':')
		dst = append(dst, e.a.id...)
		dst = append(dst, ":secret:"...)
		dst = appendEscaped(dst, g.pick(e.a.secretTags))
	}
	return append(dst, `"}`...)
}

func rotateSecretRequest(g *Generator, e *draft, dst []byte) []byte {
	e.name = g.pick(e.a.secretTags)
	dst = append(dst, `{"secretId":"`...)
	dst = appendEscaped(dst, e.name)
	dst = append(dst, `","clientRequestToken":"`...)
	dst = appendUUID(dst, g.rng.Uint64(), g.rng.Uint64())
	return append(dst, `","rotateImmediately":true}`...)
}

func rotateSecretResponse(g *Generator, e *draft, dst []byte) []byte {
	dst = append(dst, `{"aRN":"arn:aws:secretsmanager:`...)
	dst = append(dst, e.region...)
	dst = append(dst, ':')
	dst = append(dst, e.a.id...)
	dst = append(dst, `:secret:`...)
	dst = appendEscaped(dst, e.name)
	dst = append(dst, `","name":"`...)
	dst = appendEscaped(dst, e.name[:len(e.name)-7])
	dst = append(dst, `","versionId":"`...)
	dst = appendUUID(dst, g.rng.Uint64(), g.rng.Uint64())
	return append(dst, `"}`...)
}

func tableRequest(g *Generator, e *draft, dst []byte) []byte {
	dst = append(dst, `{"tableName":"`...)
	dst = append(dst, g.pick(e.a.tables)...)
	return append(dst, `"}`...)
}

// appendBase64 appends n random characters of the base64 alphabet.
func (g *Generator) appendBase64(dst []byte, n int) []byte {
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for n > 0 {
		v := g.rng.Uint64()
		for i := 0; i < 10 && n > 0; i++ {
			dst = append(dst, b64[v&63])
			v >>= 6
			n--
		}
	}
	return dst
}

var monthNames = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// appendLegacyTime appends the time format found in many responseElements,
// "Mar 5, 2024, 9:14:27 AM".
func appendLegacyTime(dst []byte, unix int64) []byte {
	y, m, d := civil(unix / 86400)
	s := unix % 86400
	h := int(s / 3600)
	dst = append(dst, monthNames[m-1]...)
	dst = append(dst, ' ')
	dst = appendUint(dst, uint64(d))
	dst = append(dst, ", "...)
	dst = appendUint(dst, uint64(y))
	dst = append(dst, ", "...)
	h12 := h % 12
	if h12 == 0 {
		h12 = 12
	}
	dst = appendUint(dst, uint64(h12))
	var b [2]byte
	put2(b[:], int(s/60%60))
	dst = append(dst, ':', b[0], b[1], ':')
	put2(b[:], int(s%60))
	dst = append(dst, b[0], b[1])
	if h < 12 {
		return append(dst, " AM"...)
	}
	return append(dst, " PM"...)
}
