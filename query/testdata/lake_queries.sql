-- CloudTrail Lake style queries, written for Cairn's tests in the manner of
-- the AWS samples. $EDS_ID stands for the table; the test replaces it with
-- events. Each query starts at a "-- name:" line; "-- min-rows: N" says how
-- many rows it must at least return over the test fixture, and
-- "-- first-row: [...]" what its first row must be (JSON).

-- name: top callers by API calls
-- min-rows: 5
SELECT userIdentity.arn AS caller, COUNT(*) AS apiCount
FROM $EDS_ID
WHERE userIdentity.arn IS NOT NULL
GROUP BY userIdentity.arn
ORDER BY apiCount DESC, caller
LIMIT 10;

-- name: AccessDenied by user
-- min-rows: 3
SELECT userIdentity.arn AS principal, eventSource, eventName, COUNT(*) AS denied
FROM $EDS_ID
WHERE errorCode IN ('AccessDenied', 'Client.UnauthorizedOperation')
GROUP BY 1, 2, 3
ORDER BY denied DESC, principal, eventName;

-- name: console logins without MFA
-- min-rows: 5
SELECT eventTime, userIdentity.userName, sourceIPAddress, element_at(responseElements, 'ConsoleLogin') AS result
FROM $EDS_ID
WHERE eventSource = 'signin.amazonaws.com'
  AND eventName = 'ConsoleLogin'
  AND element_at(additionalEventData, 'MFAUsed') = 'No'
ORDER BY eventTime DESC;

-- name: failed console logins per user and day
-- min-rows: 1
SELECT date(eventTime) AS day, userIdentity.userName AS userName, count(*) AS failures
FROM $EDS_ID
WHERE eventName = 'ConsoleLogin' AND errorMessage = 'Failed authentication'
GROUP BY date(eventTime), userIdentity.userName
ORDER BY day, userName;

-- name: root account activity
-- min-rows: 1
-- first-row: ["lm-0002","ConsoleLogin","203.0.113.9"]
SELECT eventID, eventName, sourceIPAddress
FROM $EDS_ID
WHERE userIdentity.type = 'Root'
ORDER BY eventTime;

-- name: S3 bucket activity
-- min-rows: 3
SELECT element_at(requestParameters, 'bucketName') AS bucket, eventName, count(*) AS requests,
       count(DISTINCT userIdentity.arn) AS principals
FROM $EDS_ID
WHERE eventSource = 's3.amazonaws.com' AND element_at(requestParameters, 'bucketName') IS NOT NULL
GROUP BY element_at(requestParameters, 'bucketName'), eventName
ORDER BY bucket, requests DESC, eventName;

-- name: most requested S3 objects
-- min-rows: 5
SELECT element_at(requestParameters, 'bucketName') AS bucketName, element_at(requestParameters, 'key') AS key,
       count(*) AS requestCount
FROM $EDS_ID
WHERE eventSource = 's3.amazonaws.com' AND eventCategory = 'Data' AND eventName = 'GetObject'
GROUP BY requestParameters
ORDER BY requestCount DESC, bucketName, key
LIMIT 20;

-- name: S3 bytes uploaded per bucket
-- min-rows: 1
SELECT element_at(requestParameters, 'bucketName') AS bucket,
       sum(CAST(element_at(additionalEventData, 'bytesTransferredIn') AS bigint)) AS bytesIn,
       round(avg(CAST(element_at(additionalEventData, 'bytesTransferredIn') AS double)), 1) AS avgBytes
FROM $EDS_ID
WHERE eventName = 'PutObject'
GROUP BY 1
ORDER BY bytesIn DESC;

-- name: hourly timeline of API calls over the last week
-- min-rows: 24
SELECT date_trunc('hour', eventTime) AS hour, count(*) AS calls
FROM $EDS_ID
WHERE eventTime > now() - interval '7' day
GROUP BY date_trunc('hour', eventTime)
ORDER BY hour;

-- name: daily errors by service
-- min-rows: 3
SELECT date_trunc('day', eventTime) AS day, eventSource, count(*) AS errors
FROM $EDS_ID
WHERE errorCode IS NOT NULL
GROUP BY 1, 2
ORDER BY 1, 3 DESC, 2;

-- name: IAM changes
-- min-rows: 5
SELECT eventTime, userIdentity.arn, eventName, element_at(requestParameters, 'userName') AS target, errorCode
FROM $EDS_ID
WHERE eventSource = 'iam.amazonaws.com' AND readOnly = false
ORDER BY eventTime DESC
LIMIT 50;

-- name: administrator policy attachments
-- min-rows: 1
SELECT eventTime, userIdentity.arn, element_at(requestParameters, 'userName') AS userName
FROM $EDS_ID
WHERE eventName = 'AttachUserPolicy'
  AND element_at(requestParameters, 'policyArn') LIKE '%AdministratorAccess'
ORDER BY eventTime;

-- name: access keys created
-- min-rows: 1
SELECT recipientAccountId, userIdentity.arn, count(*) AS keysCreated
FROM $EDS_ID
WHERE eventName = 'CreateAccessKey' AND errorCode IS NULL
GROUP BY recipientAccountId, userIdentity.arn
ORDER BY keysCreated DESC, 2;

-- name: CloudTrail tampering
-- min-rows: 2
SELECT eventTime, eventName, userIdentity.arn, errorCode, element_at(requestParameters, 'name') AS trail
FROM $EDS_ID
WHERE eventSource = 'cloudtrail.amazonaws.com'
  AND eventName IN ('StopLogging', 'DeleteTrail', 'UpdateTrail', 'PutEventSelectors')
ORDER BY eventTime;

-- name: roles assumed, by role
-- min-rows: 2
SELECT element_at(requestParameters, 'roleArn') AS role, count(*) AS times,
       count(DISTINCT userIdentity.arn) AS assumers
FROM $EDS_ID
WHERE eventSource = 'sts.amazonaws.com' AND eventName = 'AssumeRole'
GROUP BY 1
ORDER BY times DESC, role;

-- name: self-assumed roles
SELECT eventID, eventTime, userIdentity.sessionContext.sessionIssuer.arn AS roleArn
FROM $EDS_ID
WHERE eventName = 'AssumeRole' AND userIdentity.type = 'AssumedRole'
  AND errorCode IS NULL
  AND userIdentity.sessionContext.sessionIssuer.arn = element_at(resources, 1).arn;

-- name: cross-account access
SELECT userIdentity.accountId, recipientAccountId, eventName, count(*) AS calls
FROM $EDS_ID
WHERE userIdentity.accountId != recipientAccountId
GROUP BY 1, 2, 3;

-- name: activity of one access key
-- min-rows: 1
SELECT eventSource, eventName, sourceIPAddress, eventTime, errorCode
FROM $EDS_ID
WHERE userIdentity.accessKeyId = 'AKIAALICE0000000001'
  AND eventTime BETWEEN TIMESTAMP '2026-01-05 00:00:00' AND TIMESTAMP '2026-01-12 00:00:00'
ORDER BY eventTime;

-- name: activity from one IP address, by account
-- min-rows: 1
SELECT userIdentity.accountId, count(*) AS calls
FROM $EDS_ID
WHERE sourceIPAddress = '198.51.100.7'
GROUP BY userIdentity.accountId;

-- name: activity of a role session issuer
-- min-rows: 1
SELECT count(*) AS numberEvents, eventSource, eventName
FROM $EDS_ID
WHERE userIdentity.type = 'AssumedRole'
  AND userIdentity.sessionContext.sessionIssuer.userName = 'deploy-pipeline'
GROUP BY eventSource, eventName
ORDER BY numberEvents DESC, eventName;

-- name: events outside the approved regions
-- min-rows: 5
SELECT awsRegion, eventName, count(*) AS calls
FROM $EDS_ID
WHERE awsRegion NOT IN ('us-east-1', 'us-west-2')
GROUP BY awsRegion, eventName
HAVING count(*) >= 1
ORDER BY calls DESC, eventName;

-- name: regions and services in use
-- min-rows: 5
SELECT awsRegion, eventSource, COUNT(*) AS apiCount
FROM $EDS_ID
GROUP BY awsRegion, eventSource
ORDER BY apiCount DESC, awsRegion, eventSource;

-- name: security groups opened to the world
-- min-rows: 1
-- first-row: ["2026-01-06T14:00:00Z","arn:aws:iam::444455556666:user/bob","sg-0open"]
SELECT eventTime, userIdentity.arn AS user, element_at(requestParameters, 'groupId') AS securityGroup
FROM $EDS_ID
WHERE eventName = 'AuthorizeSecurityGroupIngress'
  AND element_at(requestParameters, 'ipPermissions') LIKE '%0.0.0.0/0%'
ORDER BY eventTime;

-- name: who launched instances
-- min-rows: 1
SELECT userIdentity.principalId, json_extract_scalar(element_at(responseElements, 'instancesSet'), '$.items[0].instanceId') AS instanceId,
       eventTime, recipientAccountId, awsRegion
FROM $EDS_ID
WHERE eventName = 'RunInstances' AND responseElements IS NOT NULL
ORDER BY eventTime;

-- name: unencrypted snapshots
-- min-rows: 1
-- first-row: ["vol-0123","snap-0456"]
SELECT element_at(requestParameters, 'volumeId') AS volume, element_at(responseElements, 'snapshotId') AS snapshot
FROM $EDS_ID
WHERE eventName LIKE '%CreateSnapshot%' AND element_at(responseElements, 'encrypted') = 'false';

-- name: bucket policies that allow everyone
-- min-rows: 1
SELECT element_at(requestParameters, 'bucketName') AS bucket,
       json_extract_scalar(element_at(requestParameters, 'bucketPolicy'), '$.Statement[0].Principal') AS principal
FROM $EDS_ID
WHERE eventName = 'PutBucketPolicy';

-- name: TLS versions in use
-- min-rows: 2
SELECT tlsDetails.tlsVersion, count(*) AS calls
FROM $EDS_ID
WHERE tlsDetails.tlsVersion LIKE 'TLSv%'
GROUP BY tlsDetails.tlsVersion
ORDER BY 1;

-- name: outdated TLS
SELECT eventSource, sourceIPAddress, count(*) AS outdated
FROM $EDS_ID
WHERE CAST(REPLACE(tlsDetails.tlsVersion, 'TLSv', '') AS DOUBLE) <= 1.1
GROUP BY 1, 2;

-- name: tag history from the raw record
SELECT eventTime, json_extract_scalar(eventJson, '$.requestParameters.resourcesSet.items[0].resourceId') AS resourceId,
       json_extract_scalar(eventJson, '$.requestParameters.tagSet.items[0].key') AS key
FROM $EDS_ID
WHERE eventName IN ('CreateTags', 'DeleteTags')
ORDER BY resourceId, key, eventTime DESC;

-- name: write events from the console
-- min-rows: 1
SELECT eventTime, eventName, userIdentity.arn
FROM $EDS_ID
WHERE userAgent LIKE 'Mozilla%' AND readOnly = false
ORDER BY eventTime DESC;

-- name: users per account
-- min-rows: 3
SELECT useridentity.accountId, count(DISTINCT userIdentity.principalid) AS principals, count(*) AS eventCount
FROM $EDS_ID
WHERE userIdentity.principalid IS NOT NULL
GROUP BY useridentity.accountId
ORDER BY eventCount DESC;

-- name: busiest day of the week
-- min-rows: 7
SELECT day_of_week(eventTime) AS weekday, count(*) AS eventCount
FROM $EDS_ID
GROUP BY day_of_week(eventTime)
ORDER BY day_of_week(eventTime);

-- name: first and last seen per principal
-- min-rows: 5
SELECT userIdentity.arn, min(eventTime) AS firstSeen, max(eventTime) AS lastSeen,
       date_diff('hour', min(eventTime), max(eventTime)) AS hoursActive
FROM $EDS_ID
WHERE userIdentity.arn IS NOT NULL
GROUP BY userIdentity.arn
ORDER BY firstSeen;

-- name: error rate per service
-- min-rows: 3
SELECT eventSource, count(*) AS calls, count(errorCode) AS errors,
       round(100.0 * count(errorCode) / count(*), 2) AS errorPercent
FROM $EDS_ID
GROUP BY eventSource
HAVING count(errorCode) > 0
ORDER BY errorPercent DESC, eventSource;

-- name: read versus write
-- min-rows: 2
SELECT CASE WHEN readOnly THEN 'read' WHEN NOT readOnly THEN 'write' ELSE 'unknown' END AS kind, count(*) AS calls
FROM $EDS_ID
GROUP BY 1
ORDER BY 1;

-- name: management and data events
-- min-rows: 2
SELECT eventCategory, managementEvent, count(*) AS events
FROM $EDS_ID
GROUP BY eventCategory, managementEvent
ORDER BY 1, 2;

-- name: distinct user agents of a user
-- min-rows: 1
SELECT DISTINCT userAgent
FROM $EDS_ID
WHERE userIdentity.userName = 'bob'
ORDER BY userAgent;

-- name: latest event of each account
-- min-rows: 3
SELECT recipientAccountId, max_by(eventName, eventTime) AS lastEvent, max(eventTime) AS at
FROM $EDS_ID
WHERE recipientAccountId IS NOT NULL
GROUP BY recipientAccountId
ORDER BY recipientAccountId;

-- name: raw records of an event
-- min-rows: 1
SELECT eventJson FROM $EDS_ID WHERE eventID = 'lm-0006';

-- name: KMS use by AWS services
-- min-rows: 1
-- first-row: ["cloudtrail.amazonaws.com","Decrypt",1]
SELECT userIdentity.invokedBy, eventName, count(*)
FROM $EDS_ID
WHERE userIdentity.type = 'AWSService'
GROUP BY 1, 2;

-- name: events in a fixed window, newest first
-- min-rows: 10
SELECT eventTime, eventSource, eventName
FROM $EDS_ID
WHERE eventTime >= '2026-01-07 00:00:00' AND eventTime < '2026-01-08 00:00:00'
ORDER BY eventTime DESC
LIMIT 25;

-- name: identity center federation
-- min-rows: 1
SELECT element_at(serviceEventDetails, 'account_id') AS accountId, userIdentity.userName, eventTime
FROM $EDS_ID
WHERE eventSource = 'sso.amazonaws.com' AND eventName = 'Federate';
