package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator/cloudflare"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/fly"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/workers"
)

// stateFormat is the version of the state file layout.
const stateFormat = 1

// stateFile is the on-disk state. It holds secret values: mode 0600.
type stateFile struct {
	Format     int              `json:"format"`
	Fly        fly.State        `json:"fly"`
	Cloudflare cloudflare.State `json:"cloudflare"`
	// Workers is the Workers scripts API's state; a file written before it existed has none and
	// loads as no scripts.
	Workers workers.State `json:"workers"`
}

// loadState reads path; found is false when the file does not exist.
func loadState(path string) (st stateFile, found bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return stateFile{}, false, nil
	}
	if err != nil {
		return stateFile{}, false, err
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return stateFile{}, false, fmt.Errorf("state file %s: not valid JSON", path)
	}
	if st.Format != stateFormat {
		return stateFile{}, false, fmt.Errorf("state file %s: format %d, want %d", path, st.Format, stateFormat)
	}
	return st, true, nil
}

// writeFileAtomic replaces path with data: a reader sees the old file or the
// new one, never a mix, and the file is only ever readable by its owner.
func writeFileAtomic(path string, data []byte) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			// Best effort: the error being returned is the one to report.
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(0o600); err != nil {
		return err
	}
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if dir, derr := os.Open(filepath.Dir(path)); derr == nil {
		_ = dir.Sync()  // make the rename durable where the platform allows
		_ = dir.Close() // opened only to sync
	}
	return nil
}

// persister saves snapshots after changes. Concurrent saves coalesce: a save
// that finds a newer snapshot already written returns at once.
type persister struct {
	path     string
	snapshot func() stateFile
	log      *slog.Logger

	requested atomic.Uint64 // tickets handed out, one per save call

	mu      sync.Mutex
	written uint64 // highest ticket covered by the file
	lastErr error
}

// save writes a snapshot that includes every change made before the call.
func (p *persister) save() error {
	ticket := p.requested.Add(1)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.written >= ticket {
		return nil
	}
	covered := p.requested.Load() // the snapshot below is taken after all these
	data, err := json.MarshalIndent(p.snapshot(), "", "  ")
	if err == nil {
		err = writeFileAtomic(p.path, data)
	}
	if err != nil {
		p.lastErr = err
		p.log.Error("saving state failed", "path", p.path, "error", err)
		return err
	}
	p.written = covered
	p.lastErr = nil
	return nil
}
