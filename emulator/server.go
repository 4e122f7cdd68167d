package emulator

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator/cloudflare"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/fly"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/workers"
)

// Server is the emulator: an http.Handler serving both APIs. It is safe for
// concurrent use.
type Server struct {
	opts   Options
	log    *slog.Logger
	mux    *http.ServeMux
	fly    *fly.API
	cf     *cloudflare.API
	stats  *statsCounter
	faults *faultInjector
	// schedule injects the faults of Options.FaultSchedule.
	schedule *faultSchedule
	// The APIs' rate limits; nil with Options.NoRateLimit. Getting one Fly
	// machine has a limit of its own.
	flyLimiter, flyGetMachineLimiter *rateLimiter
	cloudflareLimiter                *windowLimiter
	// flyRefusals counts Fly's 429s: every second one comes without Retry-After (see
	// family.retryAfter).
	flyRefusals atomic.Int64
	state       *persister // nil for memory only

	closeOnce sync.Once
	closeErr  error

	// workers is the Workers scripts API (a Worker's own secrets), on the Cloudflare base.
	workers *workers.API
}

// New builds a server from opts, loading Options.StatePath if it exists.
func New(opts Options) (*Server, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	s := &Server{
		opts:     opts,
		log:      opts.Logger,
		stats:    newStatsCounter(),
		faults:   newFaultInjector(opts),
		schedule: newFaultSchedule(opts.FaultSchedule),
	}
	if !opts.NoRateLimit {
		s.flyLimiter = newRateLimiter(flyRatePerSecond, flyRateBurst, time.Now)
		s.flyGetMachineLimiter = newRateLimiter(flyGetMachineRatePerSecond, flyGetMachineRateBurst, time.Now)
		s.cloudflareLimiter = newWindowLimiter(opts.CloudflareRateLimit, opts.CloudflareRateWindow,
			opts.CloudflareLockout, time.Now)
	}
	if opts.StatePath != "" {
		s.state = &persister{path: opts.StatePath, snapshot: s.snapshot, log: s.log}
	}

	var err error
	s.fly, err = fly.New(fly.Config{
		Token:             opts.FlyToken,
		DeployTokens:      opts.FlyDeployTokens,
		ReadLag:           opts.FlyReadLag,
		MachineBootDelay:  opts.FlyMachineBootDelay,
		MachineCheckDelay: opts.FlyMachineCheckDelay,
		ExactReadTimes:    opts.FlyExactReadTimes,
		OnChange:          s.changed,
	})
	if err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	s.cf, err = cloudflare.New(cloudflare.Config{
		Token:           opts.CloudflareToken,
		OtherTokens:     opts.CloudflareOtherTokens,
		AccountID:       opts.CloudflareAccount,
		ActivationDelay: opts.ActivationDelay,
		ListLag:         opts.CloudflareListLag,
		DeletedLinger:   opts.CloudflareDeletedLinger,
		EmptyAccount:    opts.CloudflareEmptyAccount,
		AutoCreateStore: opts.CloudflareAutoStore,
		OnChange:        s.changed,
	})
	if err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}

	s.workers, err = workers.New(workers.Config{
		Token:              opts.CloudflareToken,
		OtherTokens:        opts.CloudflareOtherTokens,
		AccountID:          opts.CloudflareAccount,
		UploadKeepsSecrets: opts.CloudflareUploadKeepsSecrets,
		OnChange:           s.changed,
	})
	if err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}

	if s.state != nil {
		st, found, err := loadState(opts.StatePath)
		if err != nil {
			return nil, fmt.Errorf("emulator: %w", err)
		}
		if found {
			if err := s.fly.Restore(st.Fly); err != nil {
				return nil, fmt.Errorf("emulator: %w", err)
			}
			if err := s.cf.Restore(st.Cloudflare); err != nil {
				return nil, fmt.Errorf("emulator: %w", err)
			}
			if err := s.workers.Restore(st.Workers); err != nil {
				return nil, fmt.Errorf("emulator: %w", err)
			}
		}
	}
	if err := s.createStartApps(); err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	// Writing now fails fast on an unwritable path and tightens the mode of
	// a file loaded with a looser one.
	if s.state != nil {
		if err := s.state.save(); err != nil {
			return nil, fmt.Errorf("emulator: saving state: %w", err)
		}
	}
	s.mux = s.routes()
	return s, nil
}

func (s *Server) createStartApps() error {
	for _, name := range s.opts.FlyApps {
		if err := s.fly.EnsureApp(name, ""); err != nil {
			return err
		}
		if err := s.fly.EnsureMachines(name, s.opts.FlyMachines); err != nil {
			return err
		}
	}
	for _, ref := range s.opts.workerRefs() {
		if err := s.workers.EnsureScript(ref); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	s.fly.Register(&instrumentedMux{mux: mux, s: s, family: flyFamily})
	s.cf.Register(&instrumentedMux{mux: mux, s: s, family: cloudflareFamily})
	s.workers.Register(&instrumentedMux{mux: mux, s: s, family: cloudflareFamily})
	s.fly.RegisterInspection(mux)
	mux.HandleFunc("GET /_emulator/stats", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.Stats())
	})
	mux.HandleFunc("DELETE /_emulator/stats", func(w http.ResponseWriter, r *http.Request) {
		s.stats.reset()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /_emulator/reset", func(w http.ResponseWriter, r *http.Request) {
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

// ServeHTTP serves both APIs and the /_emulator endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// Options returns the options in effect, defaults filled in.
func (s *Server) Options() Options {
	o := s.opts
	o.FlyApps = slices.Clone(o.FlyApps)
	o.CloudflareWorkers = slices.Clone(o.CloudflareWorkers)
	return o
}

// Stats returns the request counts, the same data as GET /_emulator/stats.
func (s *Server) Stats() Stats {
	return s.stats.snapshot()
}

// State returns everything the two APIs hold now, values included, as the state file would:
// the consistent view, not what a lagging read sees. For tests.
func (s *Server) State() (fly.State, cloudflare.State) {
	return s.fly.Snapshot(), s.cf.Snapshot()
}

// Fly is the emulated Fly API, for tests that inspect or steer its machines
// directly (the same as the /_emulator/fly/... routes).
func (s *Server) Fly() *fly.API {
	return s.fly
}

// Workers is the emulated Workers scripts API, for tests that read a script's secrets (values
// included), versions and deployments, or act as another tool would (DropSecrets, UploadVersion,
// Deploy).
func (s *Server) Workers() *workers.API {
	return s.workers
}

// WorkersState returns everything the Workers scripts API holds now, values included, as the
// state file would. For tests.
func (s *Server) WorkersState() workers.State {
	return s.workers.Snapshot()
}

// ResetStats zeroes the request counts only, like DELETE /_emulator/stats.
func (s *Server) ResetStats() {
	s.stats.reset()
}

// Reset empties everything, like POST /_emulator/reset: apps, stores, Workers scripts,
// secrets, stats and rate-limit buckets; it re-creates Options.FlyApps and
// Options.CloudflareWorkers, re-seeds the fault generator and starts the fault schedule's
// counts over.
func (s *Server) Reset() {
	s.fly.Reset()
	s.cf.Reset()
	s.workers.Reset()
	_ = s.createStartApps() // validated by New
	s.stats.reset()
	s.faults.reseed()
	s.schedule.reset()
	for _, l := range []*rateLimiter{s.flyLimiter, s.flyGetMachineLimiter} {
		if l != nil {
			l.reset()
		}
	}
	if s.cloudflareLimiter != nil {
		s.cloudflareLimiter.reset()
	}
	s.changed()
}

// Close flushes the state file. The server must not be used afterwards.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		if s.state != nil {
			s.closeErr = s.state.save()
		}
	})
	return s.closeErr
}

func (s *Server) changed() {
	if s.state != nil {
		_ = s.state.save() // logged by the persister; Close reports a lasting failure
	}
}

func (s *Server) snapshot() stateFile {
	return stateFile{Format: stateFormat, Fly: s.fly.Snapshot(), Cloudflare: s.cf.Snapshot(),
		Workers: s.workers.Snapshot()}
}

// cloudflareUser is whom a request's Authorization header spends the rate limit of: every
// token the emulator accepts is one user's; any other header is a user of its own (refused).
func (s *Server) cloudflareUser(authorization string) string {
	if s.cf.Accepts(authorization) {
		return "user"
	}
	return "unknown " + authorization
}
