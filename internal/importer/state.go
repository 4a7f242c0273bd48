package importer

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/flowlake/flowlake/internal/atomicfile"
)

// headLen is how much of a file identifies it: enough to tell a rewritten
// file from one that only grew.
const headLen = 4096

// FileState is what the state remembers of one imported file.
type FileState struct {
	Format   string `json:"format"`
	Size     int64  `json:"size"`
	ModTime  int64  `json:"mtime_ns"`
	HeadHash string `json:"head_sha256"`
	// HeadLen is how many leading bytes HeadHash covers (less than headLen
	// for small files, so that a small file that grows is still recognised).
	HeadLen int64 `json:"head_len"`
	// Records is the number of rows of the file already handed to the
	// writer, in file order; a resumed import skips that many.
	Records int64 `json:"records"`
	// Complete is set once the whole file (as of Size) was read.
	Complete bool `json:"complete"`
}

// State is the idempotency record kept at <data-dir>/import/state.json.
type State struct {
	path  string
	mu    sync.Mutex
	Files map[string]*FileState `json:"files"`
}

// LoadState reads the state under dataDir, or returns an empty one.
func LoadState(dataDir string) (*State, error) {
	st := &State{path: filepath.Join(dataDir, "import", "state.json"), Files: map[string]*FileState{}}
	data, err := os.ReadFile(st.path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("import state: %w", err)
	}
	if err := json.Unmarshal(data, st); err != nil {
		return nil, fmt.Errorf("import state %s: %w", st.path, err)
	}
	if st.Files == nil {
		st.Files = map[string]*FileState{}
	}
	return st, nil
}

// Save writes the state atomically (temp file, fsync, rename).
func (st *State) Save() error {
	st.mu.Lock()
	data, err := json.MarshalIndent(st, "", " ")
	st.mu.Unlock()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(st.path), 0o755); err != nil {
		return fmt.Errorf("import state: %w", err)
	}
	if err := atomicfile.WriteFile(st.path, data, 0o600); err != nil {
		return fmt.Errorf("import state: %w", err)
	}
	return nil
}

func (st *State) get(key string) *FileState {
	st.mu.Lock()
	defer st.mu.Unlock()
	if fs, ok := st.Files[key]; ok {
		c := *fs
		return &c
	}
	return nil
}

func (st *State) put(key string, fs FileState) {
	st.mu.Lock()
	st.Files[key] = &fs
	st.mu.Unlock()
}

// headHash hashes the first n bytes of the file at path.
func headHash(path string, n int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyN(h, f, n); err != nil && err != io.EOF {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
