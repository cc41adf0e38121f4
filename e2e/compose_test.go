package e2e

// No container engine runs on our machines, so docker-compose.yml and the
// Dockerfiles cannot be started here. These tests read them and check what
// would otherwise only fail on a deployment: every target runs from the one
// image, infrastructure is healthy before ecabinet starts, the environment
// is the one the ADR documents, and no secret is written into the file.

import (
	"bufio"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// adrVariables is the environment table of docs/adr/0001-walking-skeleton.md.
// A variable a compose service sets that is not here is either a typo or an
// undocumented setting; TestComposeVariablesAreInTheADR keeps the list honest.
var adrVariables = []string{
	"DATABASE_URL",
	"NATS_URL", "NATS_STORE_DIR",
	"S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY", "S3_BUCKET", "S3_USE_TLS",
	"HTTP_ADDR", "GRPC_ADDR",
	"MEETINGS_ADDR", "DOCUMENTS_ADDR", "VOTING_ADDR", "VIDEO_ADDR",
	"IDENTITY_SIGNING_KEY", "IDENTITY_VERIFY_KEY",
	"BALLOT_KEY",
	"VIDEO_UDP_ADDR", "VIDEO_ICE_NETWORKS", "VIDEO_PUBLIC_IP",
	"LOG_LEVEL",
}

var composeTargets = []string{"gateway", "meetings", "documents", "voting", "video"}

const ecabinetDockerfile = "deploy/Dockerfile"

// The file uses compose's long forms (build as a map, environment as a map,
// depends_on with conditions); a short form fails to decode, which is a
// failure of this check too.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image       string            `yaml:"image"`
	Build       *composeBuild     `yaml:"build"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	Volumes []string `yaml:"volumes"`
	Ports   []string `yaml:"ports"`
}

type composeBuild struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

// dockerfilePath is the Dockerfile a build uses, relative to the repo root.
func (b *composeBuild) dockerfilePath() string {
	name := b.Dockerfile
	if name == "" {
		name = "Dockerfile"
	}
	return filepath.ToSlash(filepath.Clean(filepath.Join(b.Context, name)))
}

func composeRepoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..") // tests run in e2e/
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(composeRepoRoot(t), "docker-compose.yml"))
	if err != nil {
		t.Fatalf("read docker-compose.yml: %v", err)
	}
	var f composeFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("parse docker-compose.yml: %v", err)
	}
	if len(f.Services) == 0 {
		t.Fatal("docker-compose.yml has no services")
	}
	return f
}

// ecabinetServices maps each service built from deploy/Dockerfile to its -target value.
func ecabinetServices(f composeFile) map[string]string {
	out := map[string]string{}
	for _, name := range composeSortedKeys(f.Services) {
		s := f.Services[name]
		if s.Build == nil || s.Build.dockerfilePath() != ecabinetDockerfile {
			continue
		}
		target := ""
		for _, arg := range s.Command {
			if v, ok := strings.CutPrefix(arg, "-target="); ok {
				target = v
			}
		}
		out[name] = target
	}
	return out
}

// composeServiceFor returns the compose service that runs target.
func composeServiceFor(t *testing.T, f composeFile, target string) (string, composeService) {
	t.Helper()
	for name, tg := range ecabinetServices(f) {
		if tg == target { // at most one: checked by TestComposeRunsEveryTargetFromTheOneImage
			return name, f.Services[name]
		}
	}
	t.Fatalf("no service runs -target=%s", target)
	return "", composeService{}
}

// composeInterpolation matches ${VAR}, ${VAR:-default} and ${VAR:?message}.
var composeInterpolation = regexp.MustCompile(`\$\{[^}]*\}`)

// composeResolve replaces compose interpolations with a placeholder so the value
// parses as the URL or address it becomes at run time.
func composeResolve(v string) string {
	return composeInterpolation.ReplaceAllString(v, "x")
}

// composeHost returns the host a URL (scheme://…) or host:port value points at.
func composeHost(t *testing.T, v string) string {
	t.Helper()
	v = composeResolve(v)
	if strings.Contains(v, "://") {
		u, err := url.Parse(v)
		if err != nil {
			t.Fatalf("parse %q: %v", v, err)
		}
		return u.Hostname()
	}
	host, _, err := net.SplitHostPort(v)
	if err != nil {
		t.Fatalf("parse %q as host:port: %v", v, err)
	}
	return host
}

func composePort(t *testing.T, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(composeResolve(addr))
	if err != nil {
		t.Fatalf("parse %q as host:port: %v", addr, err)
	}
	return port
}

func TestComposeRunsEveryTargetFromTheOneImage(t *testing.T) {
	f := loadCompose(t)
	services := ecabinetServices(f)

	seen := map[string][]string{}
	images := map[string]bool{}
	for _, name := range composeSortedKeys(services) {
		target := services[name]
		if !slices.Contains(composeTargets, target) {
			t.Errorf("service %s is built from %s but runs -target=%q; want one of %v", name, ecabinetDockerfile, target, composeTargets)
		}
		seen[target] = append(seen[target], name)
		s := f.Services[name]
		if s.Build.Context != "." {
			t.Errorf("service %s builds with context %q; %s needs the repository root (.)", name, s.Build.Context, ecabinetDockerfile)
		}
		images[s.Image] = true
	}
	for _, target := range composeTargets {
		if len(seen[target]) != 1 {
			t.Errorf("-target=%s runs in %d services %v; want exactly one", target, len(seen[target]), seen[target])
		}
	}
	if len(images) != 1 || images[""] {
		t.Errorf("ecabinet services use images %v; want one named image shared by all targets", images)
	}
}

func TestComposeInfrastructureHasHealthchecksAndVolumes(t *testing.T) {
	f := loadCompose(t)
	for _, name := range []string{"postgres", "nats", "minio"} {
		s, ok := f.Services[name]
		if !ok {
			t.Errorf("service %s is missing", name)
			continue
		}
		if s.Healthcheck == nil || len(s.Healthcheck.Test) == 0 || s.Healthcheck.Test[0] == "NONE" {
			t.Errorf("service %s has no healthcheck; ecabinet waits for it to be healthy", name)
		}
		if s.Build == nil {
			image, tag, _ := strings.Cut(s.Image, ":")
			if image == "" || tag == "" || tag == "latest" {
				t.Errorf("service %s uses image %q; pin a version tag", name, s.Image)
			}
		}
		named := false
		for _, v := range s.Volumes {
			source, _, _ := strings.Cut(v, ":")
			if _, declared := f.Volumes[source]; declared {
				named = true
			}
		}
		if !named {
			t.Errorf("service %s keeps no data in a named volume (volumes %v; declared %v)", name, s.Volumes, composeSortedKeys(f.Volumes))
		}
	}
}

func TestComposeVariablesAreInTheADR(t *testing.T) {
	adr, err := os.ReadFile(filepath.Join(composeRepoRoot(t), "docs/adr/0001-walking-skeleton.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range adrVariables {
		if !strings.Contains(string(adr), "`"+v+"`") {
			t.Errorf("%s is in this test's list but not in the ADR's table; update one of them", v)
		}
	}

	f := loadCompose(t)
	for _, name := range composeSortedKeys(ecabinetServices(f)) {
		for _, v := range composeSortedKeys(f.Services[name].Environment) {
			if !slices.Contains(adrVariables, v) {
				t.Errorf("service %s sets %s, which the ADR does not document", name, v)
			}
		}
	}
}

func TestComposeServicesHaveTheirRequiredVariables(t *testing.T) {
	f := loadCompose(t)
	require := map[string][]string{
		"gateway":   {"HTTP_ADDR", "NATS_URL", "IDENTITY_SIGNING_KEY", "MEETINGS_ADDR", "DOCUMENTS_ADDR", "VOTING_ADDR", "VIDEO_ADDR"},
		"meetings":  {"DATABASE_URL", "NATS_URL", "GRPC_ADDR", "IDENTITY_VERIFY_KEY"},
		"documents": {"DATABASE_URL", "NATS_URL", "GRPC_ADDR", "IDENTITY_VERIFY_KEY", "S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY"},
		"voting":    {"DATABASE_URL", "NATS_URL", "GRPC_ADDR", "IDENTITY_VERIFY_KEY", "BALLOT_KEY", "MEETINGS_ADDR"},
		"video":     {"DATABASE_URL", "NATS_URL", "GRPC_ADDR", "IDENTITY_VERIFY_KEY"},
	}
	for _, target := range composeTargets {
		name, s := composeServiceFor(t, f, target)
		for _, v := range require[target] {
			if s.Environment[v] == "" {
				t.Errorf("service %s (-target=%s) does not set %s", name, target, v)
			}
		}
		// The defaults are loopback; in a container that is unreachable from the others.
		for _, v := range []string{"HTTP_ADDR", "GRPC_ADDR"} {
			if addr, ok := s.Environment[v]; ok && composeHost(t, addr) != "0.0.0.0" {
				t.Errorf("service %s listens on %s=%s; want 0.0.0.0:PORT inside a container", name, v, addr)
			}
		}
	}
}

func TestComposeWaitsForHealthyInfrastructure(t *testing.T) {
	f := loadCompose(t)
	for _, name := range composeSortedKeys(ecabinetServices(f)) {
		s := f.Services[name]
		for _, v := range []string{"DATABASE_URL", "NATS_URL", "S3_ENDPOINT"} {
			value, ok := s.Environment[v]
			if !ok {
				continue
			}
			dep := composeHost(t, value)
			infra, exists := f.Services[dep]
			if !exists {
				t.Errorf("service %s: %s points at %q, which is not a compose service", name, v, dep)
				continue
			}
			if got := s.DependsOn[dep].Condition; got != "service_healthy" {
				t.Errorf("service %s uses %s (%s) but depends_on it with condition %q; want service_healthy", name, dep, v, got)
			}
			if infra.Healthcheck == nil {
				t.Errorf("service %s waits for %s to be healthy, but %s has no healthcheck", name, dep, dep)
			}
		}
	}
}

func TestComposeGatewayReachesEveryService(t *testing.T) {
	f := loadCompose(t)
	gwName, gw := composeServiceFor(t, f, "gateway")
	for _, target := range composeTargets[1:] {
		v := strings.ToUpper(target) + "_ADDR"
		name, s := composeServiceFor(t, f, target)
		addr := gw.Environment[v]
		if addr == "" {
			t.Errorf("gateway does not set %s", v)
			continue
		}
		if host := composeHost(t, addr); host != name {
			t.Errorf("gateway %s=%s; want host %s (the service running -target=%s)", v, addr, name, target)
		}
		if want := composePort(t, s.Environment["GRPC_ADDR"]); composePort(t, addr) != want {
			t.Errorf("gateway %s=%s; %s listens on port %s", v, addr, name, want)
		}
	}

	httpPort := composePort(t, gw.Environment["HTTP_ADDR"])
	published := false
	for _, p := range gw.Ports {
		parts := strings.Split(p, ":")
		if parts[len(parts)-1] == httpPort {
			published = true
		}
	}
	if !published {
		t.Errorf("service %s does not publish its HTTP port %s (ports %v)", gwName, httpPort, gw.Ports)
	}
	if gw.Healthcheck == nil || !strings.Contains(strings.Join(gw.Healthcheck.Test, " "), "/healthz") {
		t.Errorf("service %s needs a healthcheck on /healthz", gwName)
	}
}

// The video service's defaults keep media on loopback, where no tablet
// reaches it: in compose it listens on a fixed UDP port, publishes it, and
// lets ICE use networks beyond loopback.
func TestComposeVideoMediaIsReachable(t *testing.T) {
	f := loadCompose(t)
	name, s := composeServiceFor(t, f, "video")
	addr := s.Environment["VIDEO_UDP_ADDR"]
	if addr == "" {
		t.Fatalf("service %s does not set VIDEO_UDP_ADDR (its default is loopback)", name)
	}
	port := composePort(t, addr)
	if port == "0" {
		t.Errorf("service %s: VIDEO_UDP_ADDR=%s; want a fixed port that can be published", name, addr)
	}
	if !slices.Contains(s.Ports, port+":"+port+"/udp") {
		t.Errorf("service %s does not publish UDP port %s (ports %v)", name, port, s.Ports)
	}
	nets := s.Environment["VIDEO_ICE_NETWORKS"]
	if nets == "" || !strings.Contains(nets, "192.168.0.0/16") {
		t.Errorf("service %s: VIDEO_ICE_NETWORKS=%q; want the private networks (the default is loopback only)", name, nets)
	}
	if _, ok := s.Environment["VIDEO_PUBLIC_IP"]; !ok {
		t.Errorf("service %s does not pass VIDEO_PUBLIC_IP through (the container's address is not the one tablets reach)", name)
	}
}

// composeSecretVariables may only take their value from the environment at `up` time,
// as ${VAR:?message}: compose then refuses to start without them instead of
// running with a default everyone can read in the repository.
var composeSecretVariables = []string{
	"POSTGRES_PASSWORD", "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD",
	"S3_ACCESS_KEY", "S3_SECRET_KEY", "IDENTITY_SIGNING_KEY", "IDENTITY_VERIFY_KEY", "BALLOT_KEY",
}

var (
	composeRequiredInterpolation = regexp.MustCompile(`^\$\{[A-Z0-9_]+:\?[^}]*\}$`)
	composeURLPassword           = regexp.MustCompile(`://[^:/@]+:([^@]*)@`)
)

func TestComposeKeepsSecretsOut(t *testing.T) {
	f := loadCompose(t)
	for _, name := range composeSortedKeys(f.Services) {
		s := f.Services[name]
		for _, k := range composeSortedKeys(s.Environment) {
			v := s.Environment[k]
			if slices.Contains(composeSecretVariables, k) && !composeRequiredInterpolation.MatchString(v) {
				t.Errorf("service %s: %s=%q; want ${VAR:?message} so the secret comes from the environment", name, k, v)
			}
			if m := composeURLPassword.FindStringSubmatch(v); m != nil && !composeRequiredInterpolation.MatchString(m[1]) {
				t.Errorf("service %s: %s carries a literal password; want ${VAR:?…}", name, k)
			}
		}
	}
}

// dockerStage is one FROM … section of a Dockerfile: its base image and its
// instructions as (KEYWORD, arguments) with continuation lines joined.
type dockerStage struct {
	From         string
	Instructions [][2]string
}

func (s dockerStage) args(keyword string) []string {
	var out []string
	for _, in := range s.Instructions {
		if in[0] == keyword {
			out = append(out, in[1])
		}
	}
	return out
}

func parseDockerfile(t *testing.T, path string) []dockerStage {
	t.Helper()
	file, err := os.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer file.Close()
	var (
		stages  []dockerStage
		pending string
	)
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && pending == "") {
			continue
		}
		if cont, ok := strings.CutSuffix(line, "\\"); ok {
			pending += cont + " "
			continue
		}
		line = strings.TrimSpace(pending + line)
		pending = ""
		keyword, rest, _ := strings.Cut(line, " ")
		keyword = strings.ToUpper(keyword)
		if keyword == "FROM" {
			stages = append(stages, dockerStage{From: strings.TrimSpace(rest)})
			continue
		}
		if len(stages) == 0 {
			continue // ARG before the first FROM
		}
		last := &stages[len(stages)-1]
		last.Instructions = append(last.Instructions, [2]string{keyword, strings.TrimSpace(rest)})
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if len(stages) == 0 {
		t.Fatalf("%s has no FROM", path)
	}
	return stages
}

func TestComposeDockerfilesExist(t *testing.T) {
	f := loadCompose(t)
	for _, name := range composeSortedKeys(f.Services) {
		s := f.Services[name]
		if s.Build == nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(composeRepoRoot(t), s.Build.dockerfilePath())); err != nil {
			t.Errorf("service %s builds from %s: %v", name, s.Build.dockerfilePath(), err)
		}
	}
}

func TestComposeImageRunsEcabinetAsNonRoot(t *testing.T) {
	stages := parseDockerfile(t, filepath.Join(composeRepoRoot(t), ecabinetDockerfile))
	final := stages[len(stages)-1]

	entry := final.args("ENTRYPOINT")
	if len(entry) != 1 {
		t.Fatalf("final stage of %s has %d ENTRYPOINTs; want one", ecabinetDockerfile, len(entry))
	}
	var argv []string
	if err := yaml.Unmarshal([]byte(entry[0]), &argv); err != nil || len(argv) == 0 || filepath.Base(argv[0]) != "ecabinet" {
		t.Errorf("ENTRYPOINT %s; want the exec form running ecabinet, e.g. [\"/usr/local/bin/ecabinet\"]", entry[0])
	}

	users := final.args("USER")
	if len(users) == 0 {
		t.Errorf("final stage of %s runs as root; add USER", ecabinetDockerfile)
	} else if u, _, _ := strings.Cut(users[len(users)-1], ":"); u == "root" || u == "0" {
		t.Errorf("final stage of %s runs as %s", ecabinetDockerfile, users[len(users)-1])
	}

	// The binary is copied from a build stage; the runtime image carries no toolchain.
	copied := false
	for _, c := range final.args("COPY") {
		if strings.HasPrefix(c, "--from=") && strings.Contains(c, "ecabinet") {
			copied = true
		}
	}
	if !copied {
		t.Errorf("final stage of %s does not COPY --from a build stage the ecabinet binary", ecabinetDockerfile)
	}
	for _, base := range []string{"golang", "node"} {
		if strings.HasPrefix(final.From, base) {
			t.Errorf("final stage is FROM %s; the runtime image should not carry a toolchain", final.From)
		}
	}
}

// TestComposeHealthchecksHaveTheirTools: a healthcheck calling curl or wget needs
// that program in the image, which for the images we build is our choice.
func TestComposeHealthchecksHaveTheirTools(t *testing.T) {
	f := loadCompose(t)
	for _, name := range composeSortedKeys(f.Services) {
		s := f.Services[name]
		if s.Build == nil || s.Healthcheck == nil || len(s.Healthcheck.Test) < 2 {
			continue
		}
		tool := s.Healthcheck.Test[1]
		if s.Healthcheck.Test[0] != "CMD" || (tool != "curl" && tool != "wget") {
			continue
		}
		stages := parseDockerfile(t, filepath.Join(composeRepoRoot(t), s.Build.dockerfilePath()))
		final := stages[len(stages)-1]
		if !strings.Contains(strings.Join(final.args("RUN"), " "), tool) {
			t.Errorf("service %s's healthcheck runs %s, but the final stage of %s does not install it", name, tool, s.Build.dockerfilePath())
		}
	}
}

// TestComposeMinIOVersionMatchesMakeRun: make run installs MinIO from
// scripts/tools.txt; the compose image builds it from deploy/minio.Dockerfile.
// One version for both.
func TestComposeMinIOVersionMatchesMakeRun(t *testing.T) {
	root := composeRepoRoot(t)
	tools, err := os.ReadFile(filepath.Join(root, "scripts/tools.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var pinned string
	for line := range strings.Lines(string(tools)) {
		if fields := strings.Fields(line); len(fields) == 3 && fields[0] == "minio" {
			pinned = fields[2]
		}
	}
	if pinned == "" {
		t.Fatal("scripts/tools.txt does not pin minio")
	}

	f := loadCompose(t)
	minio, ok := f.Services["minio"]
	if !ok || minio.Build == nil {
		t.Fatal("the minio service must build MinIO from source (deploy/minio.Dockerfile): the upstream images are gone")
	}
	var built string
	for _, stage := range parseDockerfile(t, filepath.Join(root, minio.Build.dockerfilePath())) {
		for _, arg := range stage.args("ARG") {
			if v, ok := strings.CutPrefix(arg, "MINIO_VERSION="); ok {
				built = v
			}
		}
	}
	if built != pinned {
		t.Errorf("%s builds MinIO %q; scripts/tools.txt pins %q", minio.Build.dockerfilePath(), built, pinned)
	}
}

func composeSortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
