package jobs

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/slipway-ml/slipway/internal/batch"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
)

// TransformParamsEnv is the variable that hands a transform job's data settings (a JSON object
// of batch.Params) to the command that runs it.
const TransformParamsEnv = "SLIPWAY_TRANSFORM_PARAMS"

// s3Fail turns an artifact store error into the job's failure: what the role may not do fails
// the job with AccessDenied in its FailureReason; a missing bucket or object with ClientError.
func s3Fail(err error, what string, u S3URI, role string) error {
	switch {
	case errs.Is(err, errs.AccessDenied):
		return fail("ClientError: AccessDenied: the job's role %s may not %s %s: %s", role, what, u, errs.Message(err))
	case errs.Is(err, errs.NotFound), errs.Is(err, errs.Invalid):
		return fail("ClientError: cannot %s %s: %s", what, u, errs.Message(err))
	}
	return err
}

// inputRoot is where an input is staged inside /opt/ml.
func inputRoot(j Job, in Input) string {
	switch {
	case in.LocalPath != "":
		return strings.TrimPrefix(in.LocalPath, "/opt/ml/")
	case j.Kind == TransformJob:
		return "input/data/input"
	}
	return "input/data/" + in.Name
}

// object is one object to stage and its path relative to its input's root.
type object struct {
	uri S3URI
	rel string
}

// listInput lists the objects an input names: those under an S3Prefix, or those a manifest
// file lists.
func (e *Engine) listInput(ctx context.Context, caller identity.Caller, role string, in Input) ([]object, error) {
	u, err := ParseS3URI("S3Uri", in.S3URI)
	if err != nil {
		return nil, fail("ClientError: %s", errs.Message(err))
	}
	if in.DataType == "ManifestFile" {
		return e.readManifest(ctx, caller, role, u)
	}
	var out []object
	token := ""
	for {
		page, err := e.c.Artifacts.ListObjects(ctx, caller, u.Bucket, u.Key, token)
		if err != nil {
			return nil, s3Fail(err, "list", u, role)
		}
		for _, k := range page.Keys {
			if strings.HasSuffix(k, "/") {
				continue // a folder marker
			}
			out = append(out, object{uri: S3URI{u.Bucket, k}, rel: relativeKey(u.Key, k)})
		}
		if page.Next == "" {
			break
		}
		token = page.Next
	}
	if len(out) == 0 {
		return nil, fail("ClientError: no objects found under %s", u)
	}
	return out, nil
}

// relativeKey is key's path below an S3Prefix: the prefix removed (as a directory when it ends
// at a slash or at a path element's end), or the object's base name when the prefix names it.
func relativeKey(prefix, key string) string {
	rest := strings.TrimPrefix(key, prefix)
	switch {
	case rest == "":
		return path.Base(key)
	case strings.HasSuffix(prefix, "/") || strings.HasPrefix(rest, "/") || prefix == "":
		return strings.TrimLeft(rest, "/")
	}
	// "data/train" matching "data/train2/x": keep the element the prefix cut.
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		return key[i+1:]
	}
	return key
}

// readManifest reads a ManifestFile: a JSON array whose first element is {"prefix": "s3://…/"}
// and whose others are keys relative to it.
func (e *Engine) readManifest(ctx context.Context, caller identity.Caller, role string, u S3URI) ([]object, error) {
	rc, err := e.c.Artifacts.GetObject(ctx, caller, u.Bucket, u.Key)
	if err != nil {
		return nil, s3Fail(err, "read", u, role)
	}
	defer rc.Close()
	var items []json.RawMessage
	if err := json.NewDecoder(io.LimitReader(rc, 64<<20)).Decode(&items); err != nil || len(items) == 0 {
		return nil, fail("ClientError: manifest %s is not a JSON array starting with {\"prefix\": \"s3://...\"}", u)
	}
	var head struct {
		Prefix string `json:"prefix"`
	}
	if err := json.Unmarshal(items[0], &head); err != nil || head.Prefix == "" {
		return nil, fail("ClientError: manifest %s does not start with {\"prefix\": \"s3://...\"}", u)
	}
	p, err := ParseS3URI("the manifest's prefix", head.Prefix)
	if err != nil {
		return nil, fail("ClientError: manifest %s: %s", u, errs.Message(err))
	}
	var out []object
	for _, it := range items[1:] {
		var rel string
		if err := json.Unmarshal(it, &rel); err != nil || rel == "" {
			return nil, fail("ClientError: manifest %s lists %s, which is not a key", u, it)
		}
		out = append(out, object{uri: S3URI{p.Bucket, p.Key + rel}, rel: rel})
	}
	if len(out) == 0 {
		return nil, fail("ClientError: manifest %s lists no objects", u)
	}
	return out, nil
}

// safeRel checks that rel stays inside the directory it is joined to.
func safeRel(rel string) (string, bool) {
	c := path.Clean("/" + rel)
	if c == "/" || strings.Contains(rel, "\x00") {
		return "", false
	}
	return filepath.FromSlash(c[1:]), true
}

// stage downloads every input as the job's role: to every instance (FullyReplicated), or
// each object to one instance in turn (ShardedByS3Key, objects in key order). It then writes
// the configuration files.
func (e *Engine) stage(ctx context.Context, caller identity.Caller, j Job, dir string) error {
	n := j.Spec.InstanceCount
	role := caller.PrincipalARN
	for _, in := range j.Spec.Inputs {
		objs, err := e.listInput(ctx, caller, role, in)
		if err != nil {
			return err
		}
		sort.Slice(objs, func(a, b int) bool { return objs[a].uri.Key < objs[b].uri.Key })
		for idx, o := range objs {
			rel, ok := safeRel(o.rel)
			if !ok {
				return fail("ClientError: object %s has a key that cannot be a file name", o.uri)
			}
			var targets []string
			for i := range n {
				if in.Distribution == "ShardedByS3Key" && idx%n != i {
					continue
				}
				targets = append(targets, filepath.Join(dir, host(i), filepath.FromSlash(inputRoot(j, in)), rel))
			}
			if err := e.download(ctx, caller, role, o.uri, targets); err != nil {
				return err
			}
		}
	}
	for i := range n {
		if err := writeConfig(filepath.Join(dir, host(i)), j, i); err != nil {
			return err
		}
	}
	return nil
}

// download writes an object to the first target and links (or copies) it to the others.
func (e *Engine) download(ctx context.Context, caller identity.Caller, role string, u S3URI, targets []string) error {
	if len(targets) == 0 {
		return nil
	}
	rc, err := e.c.Artifacts.GetObject(ctx, caller, u.Bucket, u.Key)
	if err != nil {
		return s3Fail(err, "read", u, role)
	}
	defer rc.Close()
	if err := writeFile(targets[0], rc); err != nil {
		return err
	}
	for _, t := range targets[1:] {
		if err := os.MkdirAll(filepath.Dir(t), 0o755); err != nil {
			return err
		}
		if os.Link(targets[0], t) == nil {
			continue
		}
		f, err := os.Open(targets[0])
		if err != nil {
			return err
		}
		err = writeFile(t, f)
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func writeFile(name string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(name, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeJSON(name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(name, strings.NewReader(string(b)))
}

func hosts(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = host(i)
	}
	return out
}

func resourceConfig(j Job, i int) map[string]any {
	return map[string]any{
		"current_host": host(i), "current_instance_type": j.Spec.InstanceType, "current_group_name": "homogeneousCluster",
		"hosts": hosts(j.Spec.InstanceCount), "network_interface_name": "eth0",
		"instance_groups": []map[string]any{{"instance_group_name": "homogeneousCluster", "instance_type": j.Spec.InstanceType, "hosts": hosts(j.Spec.InstanceCount)}},
	}
}

func inputDataConfig(j Job) map[string]any {
	out := map[string]any{}
	for _, in := range j.Spec.Inputs {
		dist := in.Distribution
		if dist == "" {
			dist = "FullyReplicated"
		}
		c := map[string]any{"TrainingInputMode": "File", "S3DistributionType": dist, "RecordWrapperType": "None"}
		if in.ContentType != "" {
			c["ContentType"] = in.ContentType
		}
		out[in.Name] = c
	}
	return out
}

// writeConfig writes SageMaker's configuration files of one instance.
func writeConfig(root string, j Job, i int) error {
	switch j.Kind {
	case TrainingJob:
		hp := j.Spec.HyperParameters
		if hp == nil {
			hp = map[string]string{}
		}
		if err := writeJSON(filepath.Join(root, "input", "config", "hyperparameters.json"), hp); err != nil {
			return err
		}
		if err := writeJSON(filepath.Join(root, "input", "config", "inputdataconfig.json"), inputDataConfig(j)); err != nil {
			return err
		}
		return writeJSON(filepath.Join(root, "input", "config", "resourceconfig.json"), resourceConfig(j, i))
	case ProcessingJob:
		if err := writeJSON(filepath.Join(root, "config", "processingjobconfig.json"), json.RawMessage(orEmpty(j.Request))); err != nil {
			return err
		}
		return writeJSON(filepath.Join(root, "config", "resourceconfig.json"), resourceConfig(j, i))
	}
	return nil
}

func orEmpty(b []byte) []byte {
	if len(b) == 0 {
		return []byte("{}")
	}
	return b
}

// workerEnv is a worker's environment: the runtime's, SageMaker's (SM_* of the training
// toolkit for training jobs), then the job's Environment, which wins.
func workerEnv(j Job, i int, cpus float64, runtime, model map[string]string) map[string]string {
	env := map[string]string{}
	for k, v := range runtime {
		env[k] = v
	}
	for k, v := range model {
		env[k] = v
	}
	switch j.Kind {
	case TrainingJob:
		channels := make([]string, 0, len(j.Spec.Inputs))
		for _, in := range j.Spec.Inputs {
			channels = append(channels, in.Name)
			env["SM_CHANNEL_"+strings.ToUpper(in.Name)] = "/opt/ml/input/data/" + in.Name
		}
		sort.Strings(channels)
		hps := map[string]any{}
		for k, v := range j.Spec.HyperParameters {
			var decoded any
			if json.Unmarshal([]byte(v), &decoded) == nil {
				hps[k] = decoded
			} else {
				hps[k] = v
			}
			env["SM_HP_"+strings.ToUpper(k)] = v
		}
		js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
		env["SM_MODEL_DIR"] = "/opt/ml/model"
		env["SM_INPUT_DIR"] = "/opt/ml/input"
		env["SM_INPUT_CONFIG_DIR"] = "/opt/ml/input/config"
		env["SM_OUTPUT_DIR"] = "/opt/ml/output"
		env["SM_OUTPUT_DATA_DIR"] = "/opt/ml/output/data"
		env["SM_OUTPUT_INTERMEDIATE_DIR"] = "/opt/ml/output/intermediate"
		env["SM_CHANNELS"] = js(channels)
		env["SM_HPS"] = js(hps)
		env["SM_CURRENT_HOST"] = host(i)
		env["SM_CURRENT_INSTANCE_TYPE"] = j.Spec.InstanceType
		env["SM_HOSTS"] = js(hosts(j.Spec.InstanceCount))
		env["SM_NUM_CPUS"] = strconv.Itoa(int(cpus))
		env["SM_NUM_GPUS"] = "0"
		env["SM_NETWORK_INTERFACE_NAME"] = "eth0"
		env["SM_LOG_LEVEL"] = "20"
		env["SM_USER_ARGS"] = js(j.Spec.Arguments)
		env["SM_INPUT_DATA_CONFIG"] = js(inputDataConfig(j))
		env["SM_RESOURCE_CONFIG"] = js(resourceConfig(j, i))
		if prog, ok := hps["sagemaker_program"].(string); ok {
			env["SM_USER_ENTRY_POINT"] = prog
			env["SM_MODULE_NAME"] = strings.TrimSuffix(prog, ".py")
		}
		if dir, ok := hps["sagemaker_submit_directory"].(string); ok {
			env["SM_MODULE_DIR"] = dir
		}
		env["SM_TRAINING_ENV"] = js(map[string]any{
			"job_name": j.Name, "current_host": host(i), "hosts": hosts(j.Spec.InstanceCount), "channel_input_dirs": channelDirs(j),
			"hyperparameters": hps, "input_data_config": inputDataConfig(j), "resource_config": resourceConfig(j, i),
			"model_dir": "/opt/ml/model", "input_dir": "/opt/ml/input", "input_config_dir": "/opt/ml/input/config",
			"output_dir": "/opt/ml/output", "output_data_dir": "/opt/ml/output/data", "num_cpus": int(cpus), "num_gpus": 0,
			"log_level": 20, "network_interface_name": "eth0", "module_name": env["SM_MODULE_NAME"], "user_entry_point": env["SM_USER_ENTRY_POINT"],
		})
		env["TRAINING_JOB_NAME"] = j.Name
		env["TRAINING_JOB_ARN"] = j.ARN
	case ProcessingJob:
		env["PROCESSING_JOB_NAME"] = j.Name
		env["PROCESSING_JOB_ARN"] = j.ARN
	case TransformJob:
		t := j.Spec.Transform
		env["TRANSFORM_JOB_NAME"] = j.Name
		env["SLIPWAY_TRANSFORM_INPUT"] = "/opt/ml/input/data/input"
		env["SLIPWAY_TRANSFORM_OUTPUT"] = "/opt/ml/output/data"
		// The data settings travel as one JSON object of batch.Params, which is what
		// `slipway container transform` (and a user's transform command) reads.
		params, _ := json.Marshal(batch.Params{SplitType: t.SplitType, BatchStrategy: t.BatchStrategy, MaxPayloadInMB: t.MaxPayloadMB,
			AssembleWith: t.AssembleWith, ContentType: t.ContentType, Accept: t.Accept, InputFilter: t.InputFilter,
			OutputFilter: t.OutputFilter, JoinSource: t.JoinSource})
		env[TransformParamsEnv] = string(params)
	}
	for k, v := range j.Spec.Environment {
		env[k] = v
	}
	return env
}

func channelDirs(j Job) map[string]string {
	out := map[string]string{}
	for _, in := range j.Spec.Inputs {
		out[in.Name] = "/opt/ml/input/data/" + in.Name
	}
	return out
}

// stageModel extracts a transform job's model.tar.gz into every instance's /opt/ml/model.
func (e *Engine) stageModel(ctx context.Context, caller identity.Caller, j Job, dir, url string) error {
	u, err := ParseS3URI("ModelDataUrl", url)
	if err != nil {
		return fail("ClientError: %s", errs.Message(err))
	}
	for i := range j.Spec.InstanceCount {
		rc, err := e.c.Artifacts.GetObject(ctx, caller, u.Bucket, u.Key)
		if err != nil {
			return s3Fail(err, "read", u, caller.PrincipalARN)
		}
		err = untar(rc, filepath.Join(dir, host(i), "model"))
		rc.Close()
		if err != nil {
			return fail("ClientError: the model %s is not a readable tar.gz: %v", u, err)
		}
	}
	return nil
}

// untar extracts a gzipped tar into dir, refusing entries that would land outside it.
func untar(r io.Reader, dir string) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		rel, ok := safeRel(h.Name)
		if !ok {
			continue
		}
		target := filepath.Join(dir, rel)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := writeFile(target, io.LimitReader(tr, h.Size)); err != nil {
				return err
			}
		}
	}
}

// tarDir writes dir's regular files as a gzipped tar to w, with paths relative to dir.
func tarDir(w io.Writer, dir string) error {
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if !d.IsDir() && !info.Mode().IsRegular() {
			return nil
		}
		h, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if d.IsDir() {
			h.Name += "/"
		}
		h.Uname, h.Gname, h.Uid, h.Gid = "", "", 0, 0
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

// written records the objects one upload has written, so a failed upload can take them back.
type written []S3URI

// putTar uploads dir as a gzipped tar.
func (e *Engine) putTar(ctx context.Context, caller identity.Caller, u S3URI, dir string, w *written) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarDir(pw, dir)) }()
	err := e.c.Artifacts.PutObject(ctx, caller, u.Bucket, u.Key, pr)
	pr.CloseWithError(err)
	if err != nil {
		return s3Fail(err, "write", u, caller.PrincipalARN)
	}
	*w = append(*w, u)
	return nil
}

// putDir uploads dir's files under u, keys relative to dir.
func (e *Engine) putDir(ctx context.Context, caller identity.Caller, u S3URI, dir string, suffix string, w *written) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		target := u.Join(filepath.ToSlash(rel) + suffix)
		if err := e.c.Artifacts.PutObject(ctx, caller, target.Bucket, target.Key, f); err != nil {
			return s3Fail(err, "write", target, caller.PrincipalARN)
		}
		*w = append(*w, target)
		return nil
	})
}

func dirEmpty(dir string) bool {
	entries, err := os.ReadDir(dir)
	return err != nil || len(entries) == 0
}

// upload writes a successful job's outputs as its role: a training job's model.tar.gz (and
// output.tar.gz when it wrote output/data), a processing job's outputs, a transform job's
// results. Nothing is uploaded before every worker succeeded, and an upload that fails takes
// back what it had written, so the output locations hold all of a job's outputs or none
// (objects that existed before the job and were not yet overwritten are left as they were).
func (e *Engine) upload(ctx context.Context, j *Job) error {
	role := j.RoleARN
	if j.Kind == TransformJob && e.c.Models != nil {
		if m, err := e.c.Models.Model(ctx, j.Account, j.Spec.Transform.ModelName); err == nil {
			role = m.RoleARN
		}
	}
	caller, err := e.c.Sessions.EngineSession(ctx, role, ServicePrincipal)
	if errs.Is(err, errs.AccessDenied) || errs.Is(err, errs.Invalid) {
		return fail("ClientError: SageMaker cannot assume the role %s to upload the outputs: %s", role, errs.Message(err))
	}
	if err != nil {
		return err
	}
	var w written
	err = e.uploadAll(ctx, caller, j, &w)
	var f *failure
	if err == nil || !errors.As(err, &f) || len(w) == 0 {
		// Success, or an error the engine retries (the retry writes the same keys again).
		return err
	}
	if left := e.takeBack(context.WithoutCancel(ctx), caller, w); len(left) > 0 {
		return fail("%s; %d output object(s) already written could not be removed: %s", f.reason, len(left), strings.Join(left, ", "))
	}
	return err
}

// takeBack deletes the objects a failed upload wrote and names those it could not delete.
func (e *Engine) takeBack(ctx context.Context, caller identity.Caller, w written) []string {
	var left []string
	for _, u := range w {
		if err := e.c.Artifacts.DeleteObject(ctx, caller, u.Bucket, u.Key); err != nil {
			e.c.Log.Warn("could not remove an output of a failed upload", "object", u.String(), "err", err)
			left = append(left, u.String())
		}
	}
	return left
}

func (e *Engine) uploadAll(ctx context.Context, caller identity.Caller, j *Job, w *written) error {
	root := func(i int) string { return filepath.Join(j.Run.Dir, host(i)) }
	switch j.Kind {
	case TrainingJob:
		out, _ := ParseS3URI("", j.Spec.OutputPath)
		base := out.Join(j.Name, "output")
		if !dirEmpty(filepath.Join(root(0), "output", "data")) {
			if err := e.putTar(ctx, caller, base.Join("output.tar.gz"), filepath.Join(root(0), "output", "data"), w); err != nil {
				return err
			}
		}
		return e.putTar(ctx, caller, base.Join("model.tar.gz"), filepath.Join(root(0), "model"), w)
	case ProcessingJob:
		for _, o := range j.Spec.Outputs {
			u, _ := ParseS3URI("", o.S3URI)
			for i := range j.Spec.InstanceCount {
				if err := e.putDir(ctx, caller, u, filepath.Join(root(i), filepath.FromSlash(strings.TrimPrefix(o.LocalPath, "/opt/ml/"))), "", w); err != nil {
					return err
				}
			}
		}
	case TransformJob:
		u, _ := ParseS3URI("", j.Spec.OutputPath)
		for i := range j.Spec.InstanceCount {
			if err := e.putDir(ctx, caller, u, filepath.Join(root(i), "output", "data"), "", w); err != nil {
				return err
			}
		}
	}
	return nil
}
