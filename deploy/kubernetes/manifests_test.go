package kubernetes

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	strictjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// namespace stands in for the namespace the manifests are applied to.
const namespace = "cairn-test"

// manifests holds every object of this directory's YAML files.
type manifests struct {
	services     []*corev1.Service
	statefulSets []*appsv1.StatefulSet
	deployments  []*appsv1.Deployment
	budgets      []*policyv1.PodDisruptionBudget
}

// newObject returns an empty object of the API type that apiVersion and kind
// name, recorded in m for decoding into, or nil when the test does not know
// the type.
func (m *manifests) newObject(apiVersion, kind string) any {
	switch apiVersion + " " + kind {
	case "v1 Service":
		o := &corev1.Service{}
		m.services = append(m.services, o)
		return o
	case "apps/v1 StatefulSet":
		o := &appsv1.StatefulSet{}
		m.statefulSets = append(m.statefulSets, o)
		return o
	case "apps/v1 Deployment":
		o := &appsv1.Deployment{}
		m.deployments = append(m.deployments, o)
		return o
	case "policy/v1 PodDisruptionBudget":
		o := &policyv1.PodDisruptionBudget{}
		m.budgets = append(m.budgets, o)
		return o
	}
	return nil
}

// load decodes every document of every .yaml and .yml file here once, as
// kubectl's strict field validation would: duplicate keys, unknown fields and
// field names in the wrong case are errors, and so is a kind the test does
// not know. TestManifestsDecode reports the errors; the other tests check
// what was decoded.
var load = sync.OnceValues(func() (*manifests, []error) {
	files, err := filepath.Glob("*.y*ml")
	if err != nil || len(files) == 0 {
		return nil, []error{fmt.Errorf("no manifests found (%v)", err)}
	}
	m := &manifests{}
	var errs []error
	for _, file := range files {
		if err := m.decodeFile(file); err != nil {
			errs = append(errs, err...)
		}
	}
	return m, errs
})

func loadManifests(t *testing.T) *manifests {
	t.Helper()
	m, errs := load()
	if m == nil {
		t.Fatal(errs[0])
	}
	return m
}

func (m *manifests) decodeFile(file string) []error {
	f, err := os.Open(file)
	if err != nil {
		return []error{err}
	}
	defer f.Close()
	var errs []error
	r := k8syaml.NewYAMLReader(bufio.NewReader(f))
	for doc := 1; ; doc++ {
		raw, err := r.Read()
		if errors.Is(err, io.EOF) {
			return errs
		}
		if err != nil {
			return append(errs, fmt.Errorf("%s: cannot read document %d: %w", file, doc, err))
		}
		if err := m.decode(raw); err != nil {
			errs = append(errs, fmt.Errorf("%s: document %d: %w", file, doc, err))
		}
	}
}

func (m *manifests) decode(raw []byte) error {
	j, err := yaml.YAMLToJSONStrict(raw)
	if err != nil {
		return err
	}
	if string(j) == "null" { // only comments
		return nil
	}
	var tm metav1.TypeMeta
	if err := json.Unmarshal(j, &tm); err != nil {
		return err
	}
	obj := m.newObject(tm.APIVersion, tm.Kind)
	if obj == nil {
		return fmt.Errorf("unknown kind %q of apiVersion %q: teach newObject its type", tm.Kind, tm.APIVersion)
	}
	strict, err := strictjson.UnmarshalStrict(j, obj, strictjson.DisallowUnknownFields, strictjson.DisallowDuplicateFields)
	if err != nil {
		return fmt.Errorf("%s: %w", tm.Kind, err)
	}
	if len(strict) > 0 {
		return fmt.Errorf("%s: %w", tm.Kind, errors.Join(strict...))
	}
	return nil
}

func TestManifestsDecode(t *testing.T) {
	m, errs := load()
	for _, err := range errs {
		t.Error(err)
	}
	if m == nil {
		return
	}
	if len(m.statefulSets) != 1 || len(m.deployments) != 1 || len(m.services) != 2 || len(m.budgets) != 1 {
		t.Errorf("got %d StatefulSets, %d Deployments, %d Services and %d PodDisruptionBudgets; want 1, 1, 2 and 1 (nodes, agent, headless and client Service, nodes' budget)",
			len(m.statefulSets), len(m.deployments), len(m.services), len(m.budgets))
	}
}

func TestStatefulSet(t *testing.T) {
	m := loadManifests(t)
	if len(m.statefulSets) != 1 {
		t.Fatalf("want one StatefulSet, got %d", len(m.statefulSets))
	}
	sts := m.statefulSets[0]
	spec := sts.Spec
	if spec.Replicas == nil || *spec.Replicas != 3 {
		t.Fatalf("replicas = %s, want 3", orUnset(spec.Replicas))
	}
	if spec.PodManagementPolicy != appsv1.ParallelPodManagement {
		t.Errorf("podManagementPolicy = %q, want Parallel: no pod is ready before a majority has formed the cluster", spec.PodManagementPolicy)
	}
	checkSelector(t, "StatefulSet "+sts.Name, spec.Selector, spec.Template)

	headless := m.service(spec.ServiceName)
	switch {
	case headless == nil:
		t.Errorf("serviceName %q names no Service", spec.ServiceName)
	case headless.Spec.ClusterIP != corev1.ClusterIPNone:
		t.Errorf("Service %s: clusterIP = %q, want None (headless)", headless.Name, headless.Spec.ClusterIP)
	case !headless.Spec.PublishNotReadyAddresses:
		t.Errorf("Service %s: publishNotReadyAddresses is false: pods could not resolve each other before the cluster is formed", headless.Name)
	}

	pod := spec.Template.Spec
	sc := pod.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 || sc.FSGroup == nil {
		t.Errorf("pod securityContext = %+v, want runAsNonRoot, a non-zero runAsUser and an fsGroup for the volume", sc)
	}
	c := container(t, pod, "cairnd")
	ports := portsByName(c)

	var boot string
	for i := range *spec.Replicas {
		podName := sts.Name + "-" + strconv.Itoa(int(i))
		flags := parseArgs(t, expand(t, c, podName))
		if flags["--id"] != podName {
			t.Errorf("%s: --id = %q, want the pod name", podName, flags["--id"])
		}
		if adv := flags["--advertise"]; !stableName(adv, podName, spec.ServiceName) {
			t.Errorf("%s: --advertise = %q, want the pod's name in Service %s", podName, adv, spec.ServiceName)
		}
		for _, name := range []string{"grpc", "raft", "http"} {
			host, port := splitAddr(t, flags["--"+name+"-addr"])
			if host != "0.0.0.0" && host != "" {
				t.Errorf("%s: --%s-addr binds %q; other pods cannot reach it", podName, name, host)
			}
			if port != ports[name] {
				t.Errorf("%s: --%s-addr port %d, but container port %q is %d", podName, name, port, name, ports[name])
			}
		}
		// Every pod gets the same list and the same data dir.
		if i == 0 {
			boot = flags["--bootstrap"]
			checkBootstrap(t, boot, sts.Name, spec.ServiceName, int(*spec.Replicas), ports["raft"])
			checkDataDir(t, flags["--data-dir"], c, spec.VolumeClaimTemplates)
		} else if flags["--bootstrap"] != boot {
			t.Errorf("%s: --bootstrap = %q, but %s-0 has %q", podName, flags["--bootstrap"], sts.Name, boot)
		}
	}

	checkProbe(t, "readinessProbe", c.ReadinessProbe, "/readyz", ports)
	checkProbe(t, "livenessProbe", c.LivenessProbe, "/healthz", ports)

	// A drain may take one pod of three, never a majority.
	for _, pdb := range m.budgets {
		checkSelector(t, "PodDisruptionBudget "+pdb.Name, pdb.Spec.Selector, spec.Template)
		if mu := pdb.Spec.MaxUnavailable; mu == nil || mu.String() != "1" {
			t.Errorf("PodDisruptionBudget %s: maxUnavailable = %v, want 1", pdb.Name, mu)
		}
	}
}

// checkBootstrap wants one member per pod, each at its stable name and the
// Raft port.
func checkBootstrap(t *testing.T, list, stsName, service string, replicas, raftPort int) {
	t.Helper()
	var ids []string
	for member := range strings.SplitSeq(list, ",") {
		id, addr, ok := strings.Cut(member, "=")
		if !ok {
			t.Errorf("--bootstrap member %q: want id=host:port", member)
			continue
		}
		ids = append(ids, id)
		host, port := splitAddr(t, addr)
		if !stableName(host, id, service) {
			t.Errorf("--bootstrap member %q: want the host of pod %s in Service %s", member, id, service)
		}
		if port != raftPort {
			t.Errorf("--bootstrap member %q: port %d, want the Raft port %d", member, port, raftPort)
		}
	}
	var want []string
	for i := range replicas {
		want = append(want, stsName+"-"+strconv.Itoa(i))
	}
	slices.Sort(ids)
	if !slices.Equal(ids, want) {
		t.Errorf("--bootstrap names %v, want every pod: %v", ids, want)
	}
}

// checkDataDir wants --data-dir to be where a volume claim template is
// mounted.
func checkDataDir(t *testing.T, dir string, c *corev1.Container, claims []corev1.PersistentVolumeClaim) {
	t.Helper()
	for _, vm := range c.VolumeMounts {
		if filepath.Clean(vm.MountPath) != filepath.Clean(dir) {
			continue
		}
		if slices.ContainsFunc(claims, func(pvc corev1.PersistentVolumeClaim) bool { return pvc.Name == vm.Name }) {
			return
		}
		t.Errorf("--data-dir %s is volume %q, which is no volumeClaimTemplate", dir, vm.Name)
		return
	}
	t.Errorf("--data-dir %q is not a volume mount of container %s", dir, c.Name)
}

func checkProbe(t *testing.T, what string, p *corev1.Probe, path string, ports map[string]int) {
	t.Helper()
	if p == nil || p.HTTPGet == nil {
		t.Errorf("%s: want an httpGet probe of %s", what, path)
		return
	}
	if p.HTTPGet.Path != path {
		t.Errorf("%s: path %q, want %q", what, p.HTTPGet.Path, path)
	}
	if port := resolvePort(p.HTTPGet.Port, ports); port != ports["http"] {
		t.Errorf("%s: port %s, want the http port %d", what, p.HTTPGet.Port.String(), ports["http"])
	}
}

func TestServices(t *testing.T) {
	m := loadManifests(t)
	for _, svc := range m.services {
		if len(svc.Spec.Selector) == 0 {
			t.Errorf("Service %s has no selector", svc.Name)
			continue
		}
		sel := labels.SelectorFromSet(svc.Spec.Selector)
		matched := 0
		for _, pod := range m.podTemplates() {
			if !sel.Matches(labels.Set(pod.Labels)) {
				continue
			}
			matched++
			for _, c := range pod.Spec.Containers {
				for _, sp := range svc.Spec.Ports {
					if resolvePort(sp.TargetPort, portsByName(&c)) == 0 {
						t.Errorf("Service %s: targetPort %s of port %s is no port of container %s", svc.Name, sp.TargetPort.String(), sp.Name, c.Name)
					}
				}
			}
		}
		if matched == 0 {
			t.Errorf("Service %s: selector %v matches no pod template", svc.Name, svc.Spec.Selector)
		}
	}
}

func TestAgent(t *testing.T) {
	m := loadManifests(t)
	if len(m.deployments) != 1 {
		t.Fatalf("want one Deployment, got %d", len(m.deployments))
	}
	d := m.deployments[0]
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
		t.Errorf("Deployment %s: replicas = %s, want 1", d.Name, orUnset(d.Spec.Replicas))
	}
	checkSelector(t, "Deployment "+d.Name, d.Spec.Selector, d.Spec.Template)
	c := container(t, d.Spec.Template.Spec, "cairn-agent")
	flags := parseArgs(t, expand(t, c, d.Name+"-0"))
	for server := range strings.SplitSeq(flags["--server"], ",") {
		host, port := splitAddr(t, server)
		svc := m.service(host)
		if svc == nil || !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return int(p.Port) == port }) {
			t.Errorf("--server %s is no port of a Service here", server)
		}
	}
}

func orUnset(n *int32) string {
	if n == nil {
		return "unset"
	}
	return strconv.Itoa(int(*n))
}

func (m *manifests) service(name string) *corev1.Service {
	for _, s := range m.services {
		if s.Name == name {
			return s
		}
	}
	return nil
}

func (m *manifests) podTemplates() []corev1.PodTemplateSpec {
	var pods []corev1.PodTemplateSpec
	for _, s := range m.statefulSets {
		pods = append(pods, s.Spec.Template)
	}
	for _, d := range m.deployments {
		pods = append(pods, d.Spec.Template)
	}
	return pods
}

func checkSelector(t *testing.T, what string, ls *metav1.LabelSelector, pod corev1.PodTemplateSpec) {
	t.Helper()
	sel, err := metav1.LabelSelectorAsSelector(ls)
	switch {
	case err != nil:
		t.Errorf("%s: selector: %v", what, err)
	case ls == nil || sel.Empty():
		t.Errorf("%s: empty selector", what)
	case !sel.Matches(labels.Set(pod.Labels)):
		t.Errorf("%s: selector %v does not match the pod labels %v", what, sel, pod.Labels)
	}
}

func container(t *testing.T, pod corev1.PodSpec, name string) *corev1.Container {
	t.Helper()
	for i := range pod.Containers {
		if pod.Containers[i].Name == name {
			return &pod.Containers[i]
		}
	}
	t.Fatalf("no container %q", name)
	return nil
}

func portsByName(c *corev1.Container) map[string]int {
	ports := map[string]int{}
	for _, p := range c.Ports {
		ports[p.Name] = int(p.ContainerPort)
	}
	return ports
}

// resolvePort returns the number a probe's or Service's port refers to among
// a container's ports, or 0 when it refers to none.
func resolvePort(p intstr.IntOrString, ports map[string]int) int {
	if p.Type == intstr.String {
		return ports[p.StrVal]
	}
	for _, n := range ports {
		if n == p.IntValue() {
			return n
		}
	}
	return 0
}

// expand returns the container's command and args as the kubelet runs them
// in pod podName: $(VAR) replaced by the container's env var VAR, whose
// metadata.name and metadata.namespace come from the pod.
func expand(t *testing.T, c *corev1.Container, podName string) []string {
	t.Helper()
	vars := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			vars[e.Name] = e.Value
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name":
			vars[e.Name] = podName
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
			vars[e.Name] = namespace
		}
	}
	var out []string
	for _, arg := range slices.Concat(c.Command, c.Args) {
		for name, v := range vars {
			arg = strings.ReplaceAll(arg, "$("+name+")", v)
		}
		if strings.Contains(arg, "$(") {
			t.Errorf("container %s: %q refers to an env var it does not have", c.Name, arg)
		}
		out = append(out, arg)
	}
	return out
}

// parseArgs maps each --flag to its value: --flag=value, --flag value, or ""
// for a flag without one.
func parseArgs(t *testing.T, args []string) map[string]string {
	t.Helper()
	flags := map[string]string{}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if !strings.HasPrefix(arg, "--") {
			if i > 0 || !strings.HasPrefix(arg, "/") { // the command itself
				t.Errorf("argument %q is no flag", arg)
			}
			continue
		}
		name, value, ok := strings.Cut(arg, "=")
		if !ok && i+1 < len(args) && !strings.HasPrefix(args[i+1], "--") {
			i++
			value = args[i]
		}
		flags[name] = value
	}
	return flags
}

func splitAddr(t *testing.T, addr string) (host string, port int) {
	t.Helper()
	host, p, err := net.SplitHostPort(addr)
	if err == nil {
		port, err = strconv.Atoi(p)
	}
	if err != nil {
		t.Errorf("address %q: want host:port", addr)
	}
	return host, port
}

// stableName reports whether host is the DNS name of pod in the headless
// Service service: pod.service, optionally followed by the namespace and
// .svc and the cluster domain.
func stableName(host, pod, service string) bool {
	base := pod + "." + service
	return host == base || host == base+"."+namespace || host == base+"."+namespace+".svc" ||
		strings.HasPrefix(host, base+"."+namespace+".svc.")
}
