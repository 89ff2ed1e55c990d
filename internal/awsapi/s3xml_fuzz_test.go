package awsapi

import (
	"encoding/json"
	"testing"
)

// FuzzS3XMLBodies feeds arbitrary bodies to the XML documents S3 clients send
// (CompleteMultipartUpload's part list, DeleteObjects' key list, PutObjectTagging's tag set):
// a body is either refused as MalformedXML or S3's validation error, or decodes to input that
// validates again unchanged.
func FuzzS3XMLBodies(f *testing.F) {
	for _, s := range []string{
		`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"a"</ETag><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part><Part><PartNumber>2</PartNumber><ETag>b</ETag></Part></CompleteMultipartUpload>`,
		`<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>a/b</Key></Object><Object><Key>c</Key><VersionId>v</VersionId></Object><Quiet>true</Quiet></Delete>`,
		`<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>`,
		`<CompleteMultipartUpload><Part><PartNumber>x</PartNumber></Part></CompleteMultipartUpload>`,
		`<!DOCTYPE x [<!ENTITY a "b">]><Delete/>`, `<Delete><Object>`, `<a/><b/>`, ``, `<Delete><Quiet>maybe</Quiet></Delete>`,
	} {
		for op := 0; op < 3; op++ {
			f.Add(uint8(op), []byte(s))
		}
	}
	svc := testService(f, "s3")
	ops := []string{"CompleteMultipartUpload", "DeleteObjects", "PutObjectTagging"}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		op := svc.Model.Operations[ops[int(which)%len(ops)]]
		payload := op.Input.MemberByName(op.Input.Payload)
		var ck checker
		doc, err := decodeXMLDocument(&ck, body, payload.Shape)
		if err != nil || ck.typeErr != "" || len(ck.violations) > 0 {
			return // MalformedXML, or a wrong type: refused before any handler
		}
		in := map[string]any{"Bucket": "b", "Key": "k", "UploadId": "u", payload.Name: doc}
		raw, _ := json.Marshal(in)
		v, jerr := decodeJSONValue(raw)
		if jerr != nil {
			t.Fatalf("decoded tree does not marshal to JSON: %v", jerr)
		}
		canonical, aerr := validateInput(svc, op, v)
		if aerr != nil {
			checkRejection(t, aerr, "InvalidArgument", "SerializationException")
			return
		}
		checkCanonical(t, svc, op, canonical)
	})
}
