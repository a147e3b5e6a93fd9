package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/ferrydeploy/ferry/internal/store"
)

// Locks returns the locks shared by the nodes of this database.
func (db *DB) Locks() store.Locks { return db.locks }

// ListenTasks calls wake soon after a task is queued through any node; see
// store.Store.
func (db *DB) ListenTasks(ctx context.Context, wake func()) error {
	return db.d.listenTasks(ctx, db, wake)
}

// lockKey turns a lock's name into the 64-bit key of a PostgreSQL advisory
// lock. The "ferry:" prefix keeps ferry's keys apart from other users' of
// the same database.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("ferry:" + name))
	return int64(h.Sum64())
}

// lockName holds the lock on name until the transaction of ctx ends, so
// that transactions that read something to decide on a name (is a new
// user's name too like another's?) and then write take turns. Outside a
// transaction it holds nothing. SQLite runs one writing transaction at a
// time and needs nothing.
func (db *DB) lockName(ctx context.Context, name string) error {
	if db.d.lockName == "" {
		return nil
	}
	_, err := db.exec(ctx, db.d.lockName, lockKey(name))
	return err
}

// lockCheckEvery is how often a held PostgreSQL lock checks that its
// session is still there; it bounds how long a node may go on believing it
// holds a lock that the database has released.
const lockCheckEvery = time.Second

// pgLocks are session-level advisory locks. Each held lock pins one pooled
// connection: the lock lives exactly as long as that session, so when a
// node dies, or its connection does, the database releases its locks.
type pgLocks struct{ db *DB }

func (l *pgLocks) TryLock(ctx context.Context, name string) (store.Lock, bool, error) {
	key := lockKey(name)
	conn, err := l.db.sql.Conn(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("lock %s: %w", name, err)
	}
	var ok bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil || !ok {
		conn.Close()
		if err != nil {
			return nil, false, fmt.Errorf("lock %s: %w", name, err)
		}
		return nil, false, nil
	}
	lk := &pgLock{conn: conn, key: key, lost: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	go lk.watch()
	return lk, true, nil
}

type pgLock struct {
	conn *sql.Conn
	key  int64
	lost chan struct{} // closed when the session is found gone
	stop chan struct{} // closed by Unlock
	done chan struct{} // closed when watch returns
	once sync.Once
}

func (l *pgLock) Lost() <-chan struct{} { return l.lost }

// watch pings the lock's session until Unlock, and reports it lost when a
// ping fails: the session may be gone, and with it the lock.
func (l *pgLock) watch() {
	defer close(l.done)
	tick := time.NewTicker(lockCheckEvery)
	defer tick.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := l.conn.PingContext(ctx)
		cancel()
		if err != nil {
			close(l.lost)
			return
		}
	}
}

// Unlock releases the lock and returns its connection to the pool. If the
// lock cannot be released cleanly the connection is discarded, which
// releases it too.
func (l *pgLock) Unlock() error {
	var err error
	l.once.Do(func() {
		close(l.stop)
		<-l.done
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var released bool
		err = l.conn.QueryRowContext(ctx, `SELECT pg_advisory_unlock($1)`, l.key).Scan(&released)
		if err != nil || !released {
			// Returning ErrBadConn makes database/sql close the session.
			l.conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		l.conn.Close()
		select {
		case <-l.lost:
			err = nil // the lock went with its session; nothing to release
		default:
			if err != nil {
				err = fmt.Errorf("unlock: %w", err)
			}
		}
	})
	return err
}

// localLocks are locks within this process, for a database that only one
// node opens.
type localLocks struct {
	mu   sync.Mutex
	held map[string]bool
}

func newLocalLocks() *localLocks { return &localLocks{held: map[string]bool{}} }

func (l *localLocks) TryLock(ctx context.Context, name string) (store.Lock, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held[name] {
		return nil, false, nil
	}
	l.held[name] = true
	return &localLock{locks: l, name: name, lost: make(chan struct{})}, true, nil
}

type localLock struct {
	locks *localLocks
	name  string
	lost  chan struct{} // never closed: nothing can take a process's lock
	once  sync.Once
}

func (l *localLock) Lost() <-chan struct{} { return l.lost }

func (l *localLock) Unlock() error {
	l.once.Do(func() {
		l.locks.mu.Lock()
		delete(l.locks.held, l.name)
		l.locks.mu.Unlock()
	})
	return nil
}
