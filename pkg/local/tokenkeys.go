package local

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"mlsvc/pkg/mlsvc"
)

// KeysetFile is the name, in the data directory, of the keys that sign
// session tokens (mlsvc.Keyset's JSON form), created with mode 0600 at the
// first start. To rotate, replace its current key and move the old one to
// "previous" (mlsvc.Keyset.Rotate), then restart.
const KeysetFile = "token-keys.json"

// LoadKeyset reads the data directory's token keyset, creating it if it
// does not exist.
func LoadKeyset(dir string) (*mlsvc.Keyset, error) {
	path := filepath.Join(dir, KeysetFile)
	for range 2 {
		b, err := os.ReadFile(path)
		if err == nil {
			k, err := mlsvc.ParseKeyset(b)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			return k, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		b, err = mlsvc.NewKeyset().MarshalJSON()
		if err != nil {
			return nil, err
		}
		// Written aside, then linked into place: two processes starting at
		// once keep one keyset, and nobody reads a partial file.
		tmp, err := os.CreateTemp(dir, ".token-keys-*")
		if err != nil {
			return nil, fmt.Errorf("create %s: %w", path, err)
		}
		_, werr := tmp.Write(b)
		err = errors.Join(werr, tmp.Chmod(0o600), tmp.Sync(), tmp.Close())
		if err == nil {
			err = os.Link(tmp.Name(), path)
		}
		os.Remove(tmp.Name())
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("create %s: %w", path, err)
		}
	}
	return nil, fmt.Errorf("%s: could not create it", path)
}
