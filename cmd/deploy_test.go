package cmd

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/callagent/callagent/pkg/agent"
)

// The Kubernetes example stays true to the binary: its serve arguments and
// environment parse, the grace period outlasts the drain, the probes hit the real
// paths, and the ConfigMap's agent is valid.
func TestKubernetesExample(t *testing.T) {
	var dep struct {
		Spec struct {
			Template struct {
				Metadata struct {
					Annotations map[string]string `yaml:"annotations"`
				} `yaml:"metadata"`
				Spec struct {
					TerminationGracePeriodSeconds int `yaml:"terminationGracePeriodSeconds"`
					Containers                    []struct {
						Args  []string `yaml:"args"`
						Ports []struct {
							Name          string `yaml:"name"`
							ContainerPort int    `yaml:"containerPort"`
						} `yaml:"ports"`
						Env []struct {
							Name  string `yaml:"name"`
							Value string `yaml:"value"`
						} `yaml:"env"`
						ReadinessProbe struct {
							HTTPGet struct {
								Path string `yaml:"path"`
							} `yaml:"httpGet"`
						} `yaml:"readinessProbe"`
						LivenessProbe struct {
							HTTPGet struct {
								Path string `yaml:"path"`
							} `yaml:"httpGet"`
						} `yaml:"livenessProbe"`
					} `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	data, err := os.ReadFile("../deploy/kubernetes/deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &dep); err != nil {
		t.Fatal(err)
	}
	pod := dep.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	c := pod.Containers[0]
	if c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("probes: %+v %+v", c.ReadinessProbe, c.LivenessProbe)
	}
	env := map[string]string{"OPENAI_API_KEY": "sk-x", "TWILIO_AUTH_TOKEN": "t"}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	if c.Args[0] != "serve" {
		t.Fatalf("args %v", c.Args)
	}
	f, _, _ := testFactory()
	f.Env = &Env{Getenv: func(k string) string { return env[k] }, Path: "/nonexistent/.env"}
	var got *serveOptions
	cmd := newServeCmd(f, func(_ context.Context, o *serveOptions) error { got = o; return nil })
	cmd.SetArgs(c.Args[1:])
	if err := cmd.Execute(); err != nil {
		t.Fatalf("serve %v: %v", c.Args[1:], err)
	}
	if got.Addr != ":8080" || got.PublicURL == "" {
		t.Errorf("listens on %q for %q", got.Addr, got.PublicURL)
	}
	// Prometheus scrapes the metrics port, which is --metrics-addr; the Service
	// (and so the Ingress) routes only the http port, where /metrics answers 404.
	ports := map[string]int{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	ann := dep.Spec.Template.Metadata.Annotations
	if got.MetricsAddr != ":"+strconv.Itoa(ports["metrics"]) || ann["prometheus.io/port"] != strconv.Itoa(ports["metrics"]) ||
		ann["prometheus.io/path"] != "/metrics" || got.Addr != ":"+strconv.Itoa(ports["http"]) {
		t.Errorf("metrics on %q, ports %v, annotations %v", got.MetricsAddr, ports, ann)
	}
	var svc struct {
		Spec struct {
			Ports []struct {
				TargetPort string `yaml:"targetPort"`
			} `yaml:"ports"`
		} `yaml:"spec"`
	}
	data, _ = os.ReadFile("../deploy/kubernetes/service.yaml")
	if err := yaml.Unmarshal(data, &svc); err != nil {
		t.Fatal(err)
	}
	for _, p := range svc.Spec.Ports {
		if p.TargetPort != "http" {
			t.Errorf("the Service exposes port %q: only http should reach the load balancer", p.TargetPort)
		}
	}
	if grace := time.Duration(pod.TerminationGracePeriodSeconds) * time.Second; grace <= got.DrainTimeout {
		t.Errorf("terminationGracePeriodSeconds %v does not outlast --drain-timeout %v", grace, got.DrainTimeout)
	}

	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	data, _ = os.ReadFile("../deploy/kubernetes/configmap.yaml")
	if err := yaml.Unmarshal(data, &cm); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(got.ConfigPath, "callagent.yaml") {
		t.Errorf("--config %s", got.ConfigPath)
	}
	if _, err := agent.Parse("configmap.yaml", []byte(cm.Data["callagent.yaml"]), func(string) string { return "" }); err != nil {
		t.Errorf("the ConfigMap's agent: %v", err)
	}
}

// The Kubernetes example lets the longest call finish: the pod's grace period
// covers the preStop wait, the drain and the exit; the drain covers
// --max-call-duration and a stream answered just before SIGTERM (the pre-dial
// window); the preStop outlasts the readiness probe's notice. It fails when one of
// them is changed without the others.
func TestFaultKubernetesGraceFitsTheLongestCall(t *testing.T) {
	var dep struct {
		Spec struct {
			Template struct {
				Metadata struct {
					Labels map[string]string `yaml:"labels"`
				} `yaml:"metadata"`
				Spec struct {
					TerminationGracePeriodSeconds int `yaml:"terminationGracePeriodSeconds"`
					Containers                    []struct {
						Args      []string `yaml:"args"`
						Lifecycle struct {
							PreStop struct {
								Sleep struct {
									Seconds int `yaml:"seconds"`
								} `yaml:"sleep"`
							} `yaml:"preStop"`
						} `yaml:"lifecycle"`
						ReadinessProbe struct {
							PeriodSeconds    int `yaml:"periodSeconds"`
							FailureThreshold int `yaml:"failureThreshold"`
						} `yaml:"readinessProbe"`
					} `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	readYAML(t, "deployment.yaml", &dep)
	pod := dep.Spec.Template.Spec
	c := pod.Containers[0]
	f, _, _ := testFactory()
	env := map[string]string{"OPENAI_API_KEY": "sk-x", "TWILIO_AUTH_TOKEN": "t", "CALLAGENT_PUBLIC_URL": "https://calls.example.com"}
	f.Env = &Env{Getenv: func(k string) string { return env[k] }, Path: "/nonexistent/.env"}
	var o *serveOptions
	cmd := newServeCmd(f, func(_ context.Context, got *serveOptions) error { o = got; return nil })
	cmd.SetArgs(c.Args[1:])
	if err := cmd.Execute(); err != nil {
		t.Fatalf("serve %v: %v", c.Args[1:], err)
	}
	second := func(n int) time.Duration { return time.Duration(n) * time.Second }
	preStop, grace := second(c.Lifecycle.PreStop.Sleep.Seconds), second(pod.TerminationGracePeriodSeconds)
	const exit = 10 * time.Second // after the drain: the Connect action's grace and the HTTP shutdown
	switch {
	case o.MaxCallDuration <= 0:
		t.Errorf("no --max-call-duration: the grace period cannot be tied to the longest call")
	case o.DrainTimeout < o.MaxCallDuration+o.PredialWindow:
		t.Errorf("--drain-timeout %v is shorter than --max-call-duration %v plus --predial-window %v: the longest call is cut",
			o.DrainTimeout, o.MaxCallDuration, o.PredialWindow)
	case grace < preStop+o.DrainTimeout+exit:
		t.Errorf("terminationGracePeriodSeconds %v does not cover the preStop %v, --drain-timeout %v and %v to exit",
			grace, preStop, o.DrainTimeout, exit)
	case grace > preStop+o.DrainTimeout+time.Minute:
		t.Errorf("terminationGracePeriodSeconds %v is far past what the drain needs (%v): a drifted --drain-timeout?", grace, preStop+o.DrainTimeout)
	}
	notice := second(c.ReadinessProbe.PeriodSeconds * max(c.ReadinessProbe.FailureThreshold, 1))
	if preStop <= notice {
		t.Errorf("preStop %v does not outlast the readiness probe's %v: the balancer may still send calls when the drain starts", preStop, notice)
	}

	var so struct {
		Spec struct {
			ScaleTargetRef struct {
				Name string `yaml:"name"`
			} `yaml:"scaleTargetRef"`
			MinReplicaCount int `yaml:"minReplicaCount"`
			Triggers        []struct {
				Type     string            `yaml:"type"`
				Metadata map[string]string `yaml:"metadata"`
			} `yaml:"triggers"`
		} `yaml:"spec"`
	}
	readYAML(t, "keda.yaml", &so)
	var depMeta struct {
		Metadata struct {
			Name string `yaml:"name"`
		} `yaml:"metadata"`
	}
	readYAML(t, "deployment.yaml", &depMeta)
	if so.Spec.ScaleTargetRef.Name != depMeta.Metadata.Name || so.Spec.MinReplicaCount < 2 || len(so.Spec.Triggers) != 1 {
		t.Fatalf("ScaledObject %+v for Deployment %q", so.Spec, depMeta.Metadata.Name)
	}
	tr := so.Spec.Triggers[0]
	threshold, err := strconv.Atoi(tr.Metadata["threshold"])
	if tr.Type != "prometheus" || !strings.Contains(tr.Metadata["query"], "callagent_calls_active") || err != nil ||
		threshold <= 0 || threshold >= o.MaxCalls {
		t.Errorf("trigger %+v: want prometheus on callagent_calls_active, a threshold under --max-calls %d", tr, o.MaxCalls)
	}

	var pdb struct {
		Kind string `yaml:"kind"`
		Spec struct {
			MaxUnavailable int `yaml:"maxUnavailable"`
			Selector       struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			} `yaml:"selector"`
		} `yaml:"spec"`
	}
	readYAML(t, "pdb.yaml", &pdb)
	if pdb.Kind != "PodDisruptionBudget" || pdb.Spec.MaxUnavailable != 1 || len(pdb.Spec.Selector.MatchLabels) == 0 {
		t.Errorf("PodDisruptionBudget %+v", pdb)
	}
	for k, v := range pdb.Spec.Selector.MatchLabels {
		if dep.Spec.Template.Metadata.Labels[k] != v {
			t.Errorf("the PodDisruptionBudget selects %s=%s, which the pods do not carry", k, v)
		}
	}
}

func readYAML(t *testing.T, name string, v any) {
	t.Helper()
	data, err := os.ReadFile("../deploy/kubernetes/" + name)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}
