package emulator

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// FaultKind names an injected fault, as Stats.Faults counts it.
type FaultKind string

// The faults a ScheduledFault can inject.
const (
	FaultDrop         FaultKind = "drop"
	FaultServerError  FaultKind = "server_error"
	FaultThrottle     FaultKind = "throttle"
	FaultConflict     FaultKind = "conflict"
	FaultLostResponse FaultKind = "lost_response"
)

// The APIs a ScheduledFault can name; Workers scripts are part of Cloudflare's.
const (
	APIFly        = "fly"
	APICloudflare = "cloudflare"
)

// ScheduledFault names requests to fault by their place in a sequence rather than by chance, so
// that a test which needs a fault gets it on every run however its requests interleave.
// Requests are counted per API, per target and per kind (writes apart from reads): the target
// is the Fly app; for Cloudflare the store, else the Workers script, else the account. Only
// requests that passed the random faults and the rate limit take a place: their number then
// depends on what the client sent to that target, not on timing or on other targets' traffic.
type ScheduledFault struct {
	// API is APIFly or APICloudflare; "" is both.
	API string
	// Kind is the fault. FaultConflict hits Fly writes only (Cloudflare answers no 409 to
	// racing writes), FaultLostResponse writes only: the write is applied, its answer lost.
	Kind FaultKind
	// Status is the answer: for FaultServerError 500 (the default), 502 or 503; for
	// FaultLostResponse 0 drops the connection (the default), 502 answers as a proxy would.
	// The other kinds answer 429 (with Retry-After: 1) and 409, or nothing (drop).
	Status int
	// At is the place (from 1) of the first request hit; Every, when above 0, hits every
	// Every-th request after it too. At 0 with Every K starts at K.
	At, Every int
	// Reads counts and hits reads (GET, HEAD) instead of writes.
	Reads bool
}

// first is the first place the rule hits.
func (f ScheduledFault) first() int {
	if f.At == 0 {
		return f.Every
	}
	return f.At
}

// hits says whether the rule names place n.
func (f ScheduledFault) hits(n int) bool {
	first := f.first()
	if n == first {
		return true
	}
	return f.Every > 0 && n > first && (n-first)%f.Every == 0
}

func (f ScheduledFault) validate() error {
	if f.API != "" && f.API != APIFly && f.API != APICloudflare {
		return fmt.Errorf("scheduled fault: api %q is neither %q nor %q", f.API, APIFly, APICloudflare)
	}
	if f.At < 0 || f.Every < 0 || f.first() == 0 {
		return fmt.Errorf("scheduled fault %s: at and every must not be negative, and one above 0", f.Kind)
	}
	statuses := map[FaultKind][]int{
		FaultDrop: {0}, FaultThrottle: {0, 429}, FaultConflict: {0, 409},
		FaultServerError: append([]int{0}, serverErrorStatuses...), FaultLostResponse: {0, 502},
	}
	allowed, known := statuses[f.Kind]
	if !known {
		return fmt.Errorf("scheduled fault: unknown kind %q", f.Kind)
	}
	if !slices.Contains(allowed, f.Status) {
		return fmt.Errorf("scheduled fault %s: status %d is not one of %v", f.Kind, f.Status, allowed)
	}
	if f.Reads && (f.Kind == FaultConflict || f.Kind == FaultLostResponse) {
		return fmt.Errorf("scheduled fault %s hits writes only", f.Kind)
	}
	if f.Kind == FaultConflict && f.API == APICloudflare {
		return fmt.Errorf("scheduled fault conflict hits Fly writes only")
	}
	return nil
}

// decide is the fault the rule injects and its status.
func (f ScheduledFault) decide() (fault, int) {
	switch f.Kind {
	case FaultDrop:
		return faultDrop, 0
	case FaultServerError:
		return faultServerError, orDefault(f.Status, http.StatusInternalServerError)
	case FaultThrottle:
		return faultThrottle, http.StatusTooManyRequests
	case FaultConflict:
		return faultConflict, http.StatusConflict
	default:
		return faultLostResponse, f.Status
	}
}

// orDefault is v, or fallback when v is 0.
func orDefault(v, fallback int) int {
	if v == 0 {
		return fallback
	}
	return v
}

// String is the form ParseScheduledFault reads.
func (f ScheduledFault) String() string {
	parts := []string{"kind=" + string(f.Kind)}
	if f.API != "" {
		parts = append(parts, "api="+f.API)
	}
	if f.At != 0 {
		parts = append(parts, "at="+strconv.Itoa(f.At))
	}
	if f.Every != 0 {
		parts = append(parts, "every="+strconv.Itoa(f.Every))
	}
	if f.Status != 0 {
		parts = append(parts, "status="+strconv.Itoa(f.Status))
	}
	if f.Reads {
		parts = append(parts, "reads")
	}
	return strings.Join(parts, ",")
}

// ParseScheduledFault reads a comma-separated rule: kind=KIND (drop, server_error, throttle,
// conflict, lost_response) and any of api=fly|cloudflare, at=N, every=K, status=S, reads.
// "kind=lost_response,api=fly,at=4,every=5" loses the answers of each Fly app's 4th, 9th, 14th...
// write. The rule is validated as Options are.
func ParseScheduledFault(s string) (ScheduledFault, error) {
	var f ScheduledFault
	for part := range strings.SplitSeq(s, ",") {
		key, value, _ := strings.Cut(strings.TrimSpace(part), "=")
		var err error
		switch key {
		case "kind":
			f.Kind = FaultKind(value)
		case "api":
			f.API = value
		case "at":
			f.At, err = strconv.Atoi(value)
		case "every":
			f.Every, err = strconv.Atoi(value)
		case "status":
			f.Status, err = strconv.Atoi(value)
		case "reads":
			if value != "" {
				err = fmt.Errorf("reads takes no value")
			}
			f.Reads = true
		default:
			err = fmt.Errorf("unknown key %q", key)
		}
		if err != nil {
			return ScheduledFault{}, fmt.Errorf("scheduled fault %q: %w", s, err)
		}
	}
	if err := f.validate(); err != nil {
		return ScheduledFault{}, fmt.Errorf("%q: %w", s, err)
	}
	return f, nil
}

// faultSchedule counts requests per API, target and kind, and applies the first rule that
// names a request's place.
type faultSchedule struct {
	rules []ScheduledFault

	mu     sync.Mutex
	placed map[scheduleKey]int
}

type scheduleKey struct {
	api, target string
	reads       bool
}

func newFaultSchedule(rules []ScheduledFault) *faultSchedule {
	return &faultSchedule{rules: slices.Clone(rules), placed: map[scheduleKey]int{}}
}

// reset starts every count over.
func (s *faultSchedule) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.placed)
}

// next places one request and decides its fault; conflicts says whether the API has 409s.
func (s *faultSchedule) next(api, target string, write, conflicts bool) (fault, int) {
	if len(s.rules) == 0 {
		return noFault, 0
	}
	key := scheduleKey{api: api, target: target, reads: !write}
	s.mu.Lock()
	s.placed[key]++
	n := s.placed[key]
	s.mu.Unlock()
	for _, rule := range s.rules {
		if (rule.API != "" && rule.API != api) || rule.Reads == write || !rule.hits(n) {
			continue
		}
		if rule.Kind == FaultConflict && !conflicts {
			continue
		}
		return rule.decide()
	}
	return noFault, 0
}

// flyTarget is what a Fly request's place is counted in: its app.
func flyTarget(r *http.Request) string {
	return "app " + r.PathValue("app")
}

// cloudflareTarget is what a Cloudflare request's place is counted in: its store, else its
// Workers script, else the account.
func cloudflareTarget(r *http.Request) string {
	if id := r.PathValue("store_id"); id != "" {
		return "store " + id
	}
	if name := r.PathValue("script_name"); name != "" {
		return "script " + r.PathValue("dispatch_namespace") + "/" + name
	}
	return "account " + r.PathValue("account_id")
}
