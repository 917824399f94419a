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
