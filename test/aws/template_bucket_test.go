package awstest

import (
	"slices"
	"testing"
)

func TestTemplateBucket(t *testing.T) {
	tpl := loadTemplate(t)
	id := tpl.only(t, "AWS::S3::Bucket")
	props := get(tpl.resource(id), "Properties")
	for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
		if get(props, "PublicAccessBlockConfiguration", k) != true {
			t.Errorf("%s: PublicAccessBlockConfiguration.%s is not true", id, k)
		}
	}
	sse := list(get(props, "BucketEncryption", "ServerSideEncryptionConfiguration"))
	if len(sse) == 0 || str(get(sse[0], "ServerSideEncryptionByDefault", "SSEAlgorithm")) == "" {
		t.Errorf("%s: no default encryption", id)
	}
	rules := list(get(props, "OwnershipControls", "Rules"))
	if len(rules) != 1 || str(get(rules[0], "ObjectOwnership")) != "BucketOwnerEnforced" {
		t.Errorf("%s: ObjectOwnership is not BucketOwnerEnforced", id)
	}
	expires := false
	for _, r := range list(get(props, "LifecycleConfiguration", "Rules")) {
		if str(get(r, "Status")) == "Enabled" && str(get(r, "Prefix")) == "predictions/" && get(r, "ExpirationInDays") != nil {
			expires = true
		}
	}
	if !expires {
		t.Errorf("%s: no enabled lifecycle rule expires predictions/", id)
	}
	// TLS only: a Deny of every S3 action, on the bucket and its objects,
	// for requests not over TLS.
	tlsOnly := false
	for _, pid := range tpl.resources("AWS::S3::BucketPolicy") {
		if !isRef(get(tpl.resource(pid), "Properties", "Bucket"), id) {
			continue
		}
		for _, s := range list(get(tpl.resource(pid), "Properties", "PolicyDocument", "Statement")) {
			res := list(get(s, "Resource"))
			if str(get(s, "Effect")) == "Deny" && slices.Equal(list(get(s, "Action")), []any{"s3:*"}) &&
				str(get(s, "Condition", "Bool", "aws:SecureTransport")) == "false" &&
				len(res) == 2 && isGetAtt(res[0], id, "Arn") && str(get(res[1], "Fn::Sub")) == "${"+id+".Arn}/*" {
				tlsOnly = true
			}
		}
	}
	if !tlsOnly {
		t.Errorf("%s: no bucket policy denies s3:* on the bucket and its objects without TLS", id)
	}
	if !isRef(get(map[string]any(tpl), "Globals", "Function", "Environment", "Variables", "BUCKET"), id) {
		t.Errorf("Globals: BUCKET is not !Ref %s", id)
	}
}
