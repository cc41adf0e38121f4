package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// A module is one piece the binary can host. Public modules are the targets
// a user names with -target; the others are shared plumbing that targets
// depend on. As in Grafana Loki's module manager, dependencies are explicit
// and a target starts exactly the modules it needs, in dependency order.
type module struct {
	public bool
	deps   []string
	// config, when set, points at a struct filled from the environment
	// before any module starts, so every bad variable is reported at once.
	config any
	init   func(*app) error
}

// Module names.
const (
	modAll       = "all"
	modGateway   = "gateway"
	modMeetings  = "meetings"
	modDocuments = "documents"
	modVoting    = "voting"
	modVideo     = "video"

	modNATS     = "nats"     // connection (or embedded server) + streams
	modGRPC     = "grpc"     // the gRPC server the services share
	modPostgres = "postgres" // DATABASE_URL
	modStorage  = "storage"  // S3/MinIO settings
)

func (a *app) modules() map[string]*module {
	return map[string]*module{
		modAll:       {public: true, deps: []string{modGateway, modMeetings, modDocuments, modVoting, modVideo}},
		modGateway:   {public: true, deps: []string{modNATS}, config: &a.cfg.gateway, init: (*app).initGateway},
		modMeetings:  {public: true, deps: []string{modGRPC, modPostgres, modNATS}, init: (*app).initMeetings},
		modDocuments: {public: true, deps: []string{modGRPC, modPostgres, modNATS, modStorage}, config: &a.cfg.documents, init: (*app).initDocuments},
		modVoting:    {public: true, deps: []string{modGRPC, modPostgres, modNATS}, config: &a.cfg.voting, init: (*app).initVoting},
		modVideo:     {public: true, deps: []string{modGRPC, modPostgres, modNATS}, config: &a.cfg.video, init: (*app).initVideo},

		modNATS:     {config: &a.cfg.nats, init: (*app).initNATS},
		modGRPC:     {config: &a.cfg.grpc, init: (*app).initGRPC},
		modPostgres: {config: &a.cfg.postgres},
		modStorage:  {config: &a.cfg.storage},
	}
}

// publicTargets lists the names -target accepts, sorted.
func publicTargets(mods map[string]*module) []string {
	var names []string
	for name, m := range mods {
		if m.public {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// resolve turns "-target=a,b" into every module to start, dependencies
// before the modules that need them.
func resolve(mods map[string]*module, target string) ([]string, error) {
	var (
		order   []string
		visited = map[string]bool{}
		visit   func(string)
	)
	visit = func(name string) {
		if visited[name] {
			return
		}
		visited[name] = true
		deps := slices.Clone(mods[name].deps)
		sort.Strings(deps)
		for _, d := range deps {
			visit(d)
		}
		order = append(order, name)
	}
	for _, name := range strings.Split(target, ",") {
		name = strings.TrimSpace(name)
		if m, ok := mods[name]; !ok || !m.public {
			return nil, fmt.Errorf("unknown target %q; valid targets: %s", name, strings.Join(publicTargets(mods), ", "))
		}
		visit(name)
	}
	return order, nil
}
