package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Role is what a console user may do.
type Role string

const (
	RoleAdmin      Role = "admin"
	RoleTechnician Role = "technician"
)

// User is a console user: a technician or an admin.
type User struct {
	ID    int64
	Email string
	Name  string
	Role  Role
	Lang  string
	// Languages the user speaks with customers, e.g. "nl,fr".
	Languages    string
	Active       bool
	PasswordHash string
	CreatedAt    time.Time
	// MustChangePassword is set by an admin's reset: the user may do
	// nothing but choose a new password until they have.
	MustChangePassword bool
	// TOTPEnabled: the user confirmed a second factor and logins ask for it.
	TOTPEnabled bool
}

// userColumns are the columns scanUser reads, each qualified by the table
// alias u, so joins can use them too.
const userColumns = "u.id, u.email, u.name, u.role, u.lang, u.languages, u.active, u.password_hash, u.created_at, " +
	"u.must_change_password, u.totp_enabled_at IS NOT NULL"

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var u User
	var created int64
	if err := row.Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.Lang, &u.Languages, &u.Active, &u.PasswordHash, &created,
		&u.MustChangePassword, &u.TOTPEnabled); err != nil {
		return User{}, err
	}
	u.CreatedAt = fromMS(created)
	return u, nil
}

func insertUser(ctx context.Context, tx *sql.Tx, u User, now int64) (User, error) {
	if u.Lang == "" {
		u.Lang = "nl"
	}
	if u.Languages == "" {
		u.Languages = u.Lang
	}
	u.Active = true
	newID, err := insertID(ctx, tx,
		"INSERT INTO users (email, name, role, lang, languages, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
		u.Email, u.Name, u.Role, u.Lang, u.Languages, u.PasswordHash, now)
	if err != nil {
		if isUnique(err) {
			return User{}, fmt.Errorf("user %s: %w", u.Email, ErrConflict)
		}
		return User{}, err
	}
	u.ID = newID
	u.CreatedAt = fromMS(now)
	return u, nil
}

// CreateUser adds a user; a duplicate e-mail is ErrConflict.
func (s *Store) CreateUser(ctx context.Context, u User) (User, error) {
	var out User
	err := s.inTx(ctx, func(tx *sql.Tx) (err error) {
		if out, err = insertUser(ctx, tx, u, s.nowMS()); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, "", "user.created", userAudit(out))
	})
	if err != nil {
		return User{}, fmt.Errorf("store: create user: %w", err)
	}
	return out, nil
}

const settingBootstrapped = "bootstrapped_at"

// BootstrapAdmin creates the first admin, once in the life of the database,
// and, when defaultCentsPerHour > 0, the desk's default hourly rate from
// today, in the same transaction: a fresh desk can price billable work at
// once, before anyone has found the rates page.
// It returns false, creating nothing, when the bootstrap already happened:
// even if every admin was later removed, this path stays closed, so the
// first-start password can never be printed a second time by a restart.
func (s *Store) BootstrapAdmin(ctx context.Context, u User, defaultCentsPerHour int64) (bool, error) {
	created := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var dummy string
		err := tx.QueryRowContext(ctx, "SELECT value FROM settings WHERE key = ?", settingBootstrapped).Scan(&dummy)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		u.Role = RoleAdmin
		now := s.nowMS()
		admin, err := insertUser(ctx, tx, u, now)
		if err != nil {
			return err
		}
		if err := s.appendAudit(ctx, tx, "relay", "user.bootstrap_admin", userAudit(admin)); err != nil {
			return err
		}
		if defaultCentsPerHour > 0 {
			// From today in UTC: never later than the desk's own date.
			from := fromMS(now).UTC().Format(time.DateOnly)
			if err := s.insertRate(ctx, tx, "relay", 0, defaultCentsPerHour, from, admin.ID); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO settings (key, value) VALUES (?, ?)",
			settingBootstrapped, fromMS(now).Format(time.RFC3339)); err != nil {
			return err
		}
		created = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("store: bootstrap admin: %w", err)
	}
	return created, nil
}

// UserByEmail finds a user by e-mail, case-insensitively.
func (s *Store) UserByEmail(ctx context.Context, email string) (User, error) {
	return one(s.db.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users u WHERE email = ?", email),
		scanUser, fmt.Sprintf("user %q", email))
}

// userAudit is what the audit log keeps of a user: never the password hash.
func userAudit(u User) map[string]any {
	return map[string]any{"user": u.ID, "email": u.Email, "name": u.Name, "role": u.Role, "languages": u.Languages, "active": u.Active}
}

// User returns one user.
func (s *Store) User(ctx context.Context, id int64) (User, error) {
	return one(s.db.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users u WHERE id = ?", id),
		scanUser, fmt.Sprintf("user %d", id))
}

// Users lists every user, active ones first.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	// The portal's author of customers' tickets (PortalUserEmail) is no
	// member of the desk: it is not listed, so nobody edits or assigns it.
	rows, err := s.db.QueryContext(ctx, "SELECT "+userColumns+" FROM users u WHERE email <> ? ORDER BY active DESC, name COLLATE NOCASE", PortalUserEmail)
	if err != nil {
		return nil, fmt.Errorf("store: users: %w", err)
	}
	return collect(rows, scanUser)
}

// UpdateUser changes a user's name, role, languages and whether they may
// log in. Deactivating a user ends their logins at once. The last active
// admin cannot be demoted or deactivated: nobody could manage the desk.
func (s *Store) UpdateUser(ctx context.Context, u User) (User, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var admins int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM users WHERE role = 'admin' AND active = 1 AND id != ?", u.ID).Scan(&admins); err != nil {
			return err
		}
		if admins == 0 && (u.Role != RoleAdmin || !u.Active) {
			var wasAdmin bool
			if err := tx.QueryRowContext(ctx, "SELECT role = 'admin' AND active = 1 FROM users WHERE id = ?", u.ID).Scan(&wasAdmin); err == nil && wasAdmin {
				return &FieldError{"role", fmt.Errorf("%w: the last active admin stays an active admin", ErrConflict)}
			}
		}
		res, err := tx.ExecContext(ctx, "UPDATE users SET name = ?, role = ?, lang = ?, languages = ?, active = ? WHERE id = ?",
			u.Name, u.Role, u.Lang, u.Languages, u.Active, u.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if !u.Active {
			if _, err = tx.ExecContext(ctx, "DELETE FROM logins WHERE user_id = ?", u.ID); err != nil {
				return err
			}
		}
		return s.appendAudit(ctx, tx, "", "user.changed", userAudit(u))
	})
	if err != nil {
		return User{}, fmt.Errorf("store: update user %d: %w", u.ID, err)
	}
	return s.User(ctx, u.ID)
}

// Login is an authenticated console login.
type Login struct {
	User      User
	CSRFToken string
	ExpiresAt time.Time
}

// CreateLogin records a login under the hash of its cookie token.
func (s *Store) CreateLogin(ctx context.Context, tokenHash []byte, userID int64, csrfToken string, expires time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			"INSERT INTO logins (token_hash, user_id, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
			tokenHash, userID, csrfToken, s.nowMS(), expires.UnixMilli())
		if err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, ActorName("user", userID), "login", map[string]any{"user": userID})
	})
	if err != nil {
		return fmt.Errorf("store: create login: %w", err)
	}
	return nil
}

// LoginByToken returns the unexpired login with this token hash.
func (s *Store) LoginByToken(ctx context.Context, tokenHash []byte) (Login, error) {
	row := s.db.QueryRowContext(ctx, `
		SELECT l.csrf_token, l.expires_at, `+userColumns+`
		FROM logins l JOIN users u ON u.id = l.user_id
		WHERE l.token_hash = ? AND l.expires_at > ? AND u.active = 1`, tokenHash, s.nowMS())
	var expires int64
	l, err := one(row, func(r interface{ Scan(...any) error }) (Login, error) {
		var l Login
		var err error
		l.User, err = scanUser(scanPrefix{r, []any{&l.CSRFToken, &expires}})
		return l, err
	}, "login")
	if err != nil {
		return Login{}, err
	}
	l.ExpiresAt = fromMS(expires)
	return l, nil
}

// scanPrefix scans a row whose first columns go to prefix and the rest to
// the caller's destinations, so a join can reuse scanUser.
type scanPrefix struct {
	row    interface{ Scan(...any) error }
	prefix []any
}

func (p scanPrefix) Scan(dest ...any) error { return p.row.Scan(append(p.prefix, dest...)...) }

// DeleteLogin ends a login (logout). Expired logins are swept at the same time.
func (s *Store) DeleteLogin(ctx context.Context, tokenHash []byte) error {
	err := s.audited(ctx, "logout", nil, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "DELETE FROM logins WHERE token_hash = ? OR expires_at <= ?", tokenHash, s.nowMS())
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete login: %w", err)
	}
	return nil
}
