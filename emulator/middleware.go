package emulator

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator/cloudflare"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/fly"
)

// family is what the middleware needs to know about one API.
type family struct {
	// api is the API's name in a ScheduledFault; target is what its requests are counted in.
	api    string
	target func(r *http.Request) string
	// writeFault answers an injected fault in the API's own error shape.
	writeFault func(w http.ResponseWriter, kind fault, status int)
	// admit spends from the API's rate limit for r (writing its headers) and says whether r may
	// go; when not, it has written the refusal's headers and says how long until a request may.
	admit func(s *Server, w http.ResponseWriter, r *http.Request) (ok bool, retryAfter time.Duration)
	// conflicts says whether writes can get an injected 409.
	conflicts bool
	// retryAfter, when set, says whether this refusal (429) carries Retry-After.
	retryAfter func(s *Server) bool
}

// throttled writes the headers of a 429 that says to wait wait: Retry-After in whole seconds,
// unless the API leaves it out this time.
func (fam family) throttled(s *Server, w http.ResponseWriter, wait time.Duration) {
	if fam.retryAfter == nil || fam.retryAfter(s) {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(wait)))
	}
}

var flyFamily = family{
	api:    APIFly,
	target: flyTarget,
	writeFault: func(w http.ResponseWriter, kind fault, status int) {
		switch kind {
		case faultThrottle:
			fly.WriteError(w, status, "rate limit exceeded")
		case faultConflict:
			fly.WriteError(w, status, "conflict: another write to this app's secrets is in progress, retry")
		default:
			fly.WriteError(w, status, "internal server error (injected by edgesecrets-emulator)")
		}
	},
	// Fly: per action (route) per app, and per machine for a machine's routes.
	admit: func(s *Server, _ http.ResponseWriter, r *http.Request) (bool, time.Duration) {
		limiter := s.flyLimiter
		if r.Pattern == flyGetMachinePattern {
			limiter = s.flyGetMachineLimiter
		}
		if limiter == nil {
			return true, 0
		}
		return limiter.take(r.Pattern + " " + r.PathValue("app") + " " + r.PathValue("id"))
	},
	conflicts: true,
	// Fly documents no Retry-After on its 429s (the contract: back off without one, honour it
	// when present): every second refusal comes without it, so that a client meets both.
	retryAfter: func(s *Server) bool { return s.flyRefusals.Add(1)%2 == 1 },
}

var cloudflareFamily = family{
	api:    APICloudflare,
	target: cloudflareTarget,
	writeFault: func(w http.ResponseWriter, kind fault, status int) {
		switch kind {
		case faultThrottle:
			cloudflare.WriteError(w, status, 971, "Please wait and consider throttling your request speed")
		default:
			cloudflare.WriteError(w, status, 10002, "Internal server error (injected by edgesecrets-emulator)")
		}
	},
	// Cloudflare: per user, whichever of the user's tokens a request carries.
	admit: func(s *Server, w http.ResponseWriter, r *http.Request) (bool, time.Duration) {
		if s.cloudflareLimiter == nil {
			return true, 0
		}
		a := s.cloudflareLimiter.take(s.cloudflareUser(r.Header.Get("Authorization")))
		s.cloudflareLimiter.headers(w.Header(), a)
		return a.ok, a.retryAfter
	},
}

// instrumentedMux registers an API's routes wrapped in the emulator's
// middleware: stats, latency, faults, rate limit and the request log.
type instrumentedMux struct {
	mux    *http.ServeMux
	s      *Server
	family family
}

func (m *instrumentedMux) Handle(pattern string, h http.Handler) {
	m.mux.Handle(pattern, m.s.instrument(m.family, h))
}

func (s *Server) instrument(fam family, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		route := routeKey(r)
		s.stats.add(route)
		rec := &statusRecorder{ResponseWriter: w}
		kind := s.serve(rec, r, fam, next)
		s.logRequest(r, route, rec.code(), time.Since(start), kind)
	})
}

// serve runs the fault and rate-limit gauntlet, then the API handler. Faults are counted
// before they are answered, so that a client that has its answer sees them in the stats. The
// schedule places only requests that got past the random faults and the rate limit, so that
// the places it names do not depend on timing.
func (s *Server) serve(w *statusRecorder, r *http.Request, fam family, next http.Handler) fault {
	if s.opts.Latency > 0 {
		t := time.NewTimer(s.opts.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return noFault
		}
	}
	write := r.Method != http.MethodGet && r.Method != http.MethodHead
	kind, status := s.faults.next(write, fam.conflicts)
	if kind != noFault && kind != faultLostResponse {
		return answerFault(s, w, fam, kind, status)
	}
	if ok, wait := fam.admit(s, w, r); !ok {
		s.stats.addRateLimited(routeKey(r))
		fam.throttled(s, w, wait)
		fam.writeFault(w, faultThrottle, http.StatusTooManyRequests)
		return faultThrottle
	}
	if scheduled, st := s.schedule.next(fam.api, fam.target(r), write, fam.conflicts); scheduled != noFault {
		kind, status = scheduled, st
		if kind != faultLostResponse {
			return answerFault(s, w, fam, kind, status)
		}
	}
	if kind == faultLostResponse {
		// The write happens; its answer goes nowhere.
		next.ServeHTTP(discardResponse{header: http.Header{}}, r)
		s.stats.addFault(kind.String())
		if status == 0 {
			dropConnection(w)
		} else {
			fam.writeFault(w, faultServerError, status)
		}
		return kind
	}
	next.ServeHTTP(w, r)
	return noFault
}

// answerFault counts and answers a fault that stops the request before the API handler.
func answerFault(s *Server, w http.ResponseWriter, fam family, kind fault, status int) fault {
	s.stats.addFault(kind.String())
	switch kind {
	case faultDrop:
		dropConnection(w)
	case faultThrottle:
		fam.throttled(s, w, time.Second)
		fam.writeFault(w, kind, status)
	default:
		fam.writeFault(w, kind, status)
	}
	return kind
}

// discardResponse is where a lost response is written.
type discardResponse struct{ header http.Header }

func (d discardResponse) Header() http.Header         { return d.header }
func (d discardResponse) Write(b []byte) (int, error) { return len(b), nil }
func (d discardResponse) WriteHeader(int)             {}

// dropConnection closes the client's connection without an answer.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // the server aborts the response instead
	}
	_ = conn.Close() // dropping it is the point: there is no one to tell
}

func (s *Server) logRequest(r *http.Request, route string, status int, d time.Duration, kind fault) {
	_, path, _ := strings.Cut(route, " ")
	attrs := []any{"method", r.Method, "route", path, "status", status, "duration", d.Round(time.Microsecond)}
	if kind != noFault {
		attrs = append(attrs, "fault", kind.String())
	}
	s.log.Info("request", attrs...)
}

// statusRecorder remembers the status an API handler answered.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// code is the answered status; 0 when the connection was dropped or the
// client left during the latency.
func (w *statusRecorder) code() int { return w.status }
