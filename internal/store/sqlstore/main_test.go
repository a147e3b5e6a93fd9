package sqlstore

import (
	"testing"

	"github.com/ferrydeploy/ferry/internal/store/pgtest"
)

// TestMain shares one throwaway PostgreSQL cluster between the package's
// PostgreSQL tests, started only if one of them runs.
func TestMain(m *testing.M) { pgtest.Main(m) }
