package event

import "bytes"

// username returns the event's Username lookup attribute and the field it came
// from ("" when there is none).
//
// The rule follows what CloudTrail's LookupEvents reports as "Username", so a
// script that looks up Username=X in CloudTrail finds the same events in Cairn:
//
//  1. userIdentity.userName, when set: IAM users (and SAML users, some
//     Identity Center users).
//  2. Else the last segment of userIdentity.arn: after the last "/", or after
//     the last ":" when there is no "/". For an assumed role
//     (arn:aws:sts::111122223333:assumed-role/MyRole/my-session) this is the
//     role session name "my-session" — LookupEvents reports the session name,
//     not the role name — so EC2 instance roles show as the instance id and
//     Lambda roles as the function name. For a federated user
//     (…:federated-user/Bob) it is "Bob", and for the root user
//     (arn:aws:iam::111122223333:root) it is "root".
//  3. Else the part of userIdentity.principalId after its last ":" (the session
//     name of AROA…:my-session), or the whole principalId when it has none.
//  4. Else userIdentity.sessionContext.sessionIssuer.userName (the role name).
//  5. Else userIdentity.invokedBy, for AWSService identities (for example
//     "lambda.amazonaws.com"), which have nothing else. This step is Cairn's
//     own: it lets an investigator look up what a service did.
//
// Insights events have no userIdentity and so no username.
//
// It also returns the field the username came from, and dup when a field the
// rule read appears twice in its object (which the caller rejects).
func (r *record) username() (name []byte, from string, dup bool) {
	if b := r.uiUserName.GetStringBytes(); len(b) > 0 {
		return b, "userIdentity.userName", false
	}
	if b := lastSegment(r.uiARN.GetStringBytes()); len(b) > 0 {
		return b, "userIdentity.arn", false
	}
	if b := r.uiPrincipalID.GetStringBytes(); len(b) > 0 {
		if i := bytes.LastIndexByte(b, ':'); i >= 0 && i+1 < len(b) {
			b = b[i+1:]
		}
		return b, "userIdentity.principalId", false
	}
	issuer, dup := field(r.uiSessionContext, "sessionIssuer")
	if dup {
		return nil, "userIdentity.sessionContext.sessionIssuer", true
	}
	issuerName, dup := field(issuer, "userName")
	if dup {
		return nil, "userIdentity.sessionContext.sessionIssuer.userName", true
	}
	if b := issuerName.GetStringBytes(); len(b) > 0 {
		return b, "userIdentity.sessionContext.sessionIssuer.userName", false
	}
	if b := r.uiInvokedBy.GetStringBytes(); len(b) > 0 {
		return b, "userIdentity.invokedBy", false
	}
	return nil, "", false
}

// lastSegment returns what follows the last "/" of an ARN, else what follows
// its last ":".
func lastSegment(arn []byte) []byte {
	if i := bytes.LastIndexByte(arn, '/'); i >= 0 {
		return arn[i+1:]
	}
	if i := bytes.LastIndexByte(arn, ':'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}
