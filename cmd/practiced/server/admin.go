package server

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/examlane/examlane/lane"
)

// adminUser is the acting user recorded for changes made by the
// administrator's command line and the demo seed.
const adminUser = "practiced-admin"

var tenantRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// checkTenantID validates a tenant id (it appears in certificate URIs).
func checkTenantID(id string) error {
	if !tenantRE.MatchString(id) {
		return lane.Invalidf("tenant id: want 1..64 of A-Z a-z 0-9 . _ - starting with a letter or digit")
	}
	return nil
}

// checkTenant returns ErrNotFound when tenant does not exist.
func (s *Server) checkTenant(ctx context.Context, tenant string) error {
	var one int
	err := s.db.r.QueryRowContext(ctx, `SELECT 1 FROM tenants WHERE id=?`, tenant).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("tenant %q: %w", tenant, lane.ErrNotFound)
	}
	return err
}

// Tenant is a practice served by this server.
type Tenant struct {
	ID, Name string
	Created  time.Time
}

// AddTenant creates a practice with one Location named locationName
// ("Main" when empty) and returns the Location's id.
func (s *Server) AddTenant(ctx context.Context, id, name, locationName string) (locationID string, err error) {
	if err := checkTenantID(id); err != nil {
		return "", fmt.Errorf("add tenant: %w", err)
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return "", fmt.Errorf("add tenant: %w", lane.Invalidf("practice name is empty"))
	}
	if locationName == "" {
		locationName = "Main"
	}
	err = s.withWrite(ctx, identity{Tenant: id, User: adminUser}, func(w *writeCtx) error {
		var one int
		err := w.tx.QueryRowContext(ctx, `SELECT 1 FROM tenants WHERE id=?`, id).Scan(&one)
		if err == nil {
			return fmt.Errorf("tenant %q: %w", id, errExists)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := w.tx.ExecContext(ctx, `INSERT INTO tenants(id, name, created) VALUES(?,?,?)`, id, name, w.at.UnixMilli()); err != nil {
			return err
		}
		st, _, err := w.create(ctx, locationResource(locationName, ""), "", "")
		locationID = st.ID
		return err
	})
	if err != nil {
		return "", fmt.Errorf("add tenant: %w", err)
	}
	return locationID, nil
}

// locationResource is a Location for a site (partOf "") or a lane room in
// a site.
func locationResource(name, partOf string) map[string]any {
	m := map[string]any{"resourceType": "Location", "status": "active", "mode": "instance", "name": name}
	if partOf == "" {
		m["physicalType"] = codeable("http://terminology.hl7.org/CodeSystem/location-physical-type", "si", "Site")
	} else {
		m["physicalType"] = codeable("http://terminology.hl7.org/CodeSystem/location-physical-type", "ro", "Room")
		m["partOf"] = map[string]any{"reference": partOf}
	}
	return m
}

// codeable is a CodeableConcept with one coding.
func codeable(system, code, display string) map[string]any {
	c := map[string]any{"system": system, "code": code}
	if display != "" {
		c["display"] = display
	}
	return map[string]any{"coding": []any{c}}
}

// Tenants lists the practices.
func (s *Server) Tenants(ctx context.Context) ([]Tenant, error) {
	rows, err := s.db.r.QueryContext(ctx, `SELECT id, name, created FROM tenants ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("tenants: %w", err)
	}
	defer rows.Close()
	var out []Tenant
	for rows.Next() {
		var t Tenant
		var c int64
		if err := rows.Scan(&t.ID, &t.Name, &c); err != nil {
			return nil, err
		}
		t.Created = time.UnixMilli(c)
		out = append(out, t)
	}
	return out, rows.Err()
}

// resolveLocation finds a live Location of tenant by id or exact name.
func (s *Server) resolveLocation(ctx context.Context, tenant, loc string) (string, error) {
	if loc == "" {
		return "", lane.Invalidf("location is empty")
	}
	if validID(loc) {
		if st, err := current(ctx, s.db.r, tenant, "Location", loc); err == nil && !st.Deleted {
			return loc, nil
		}
	}
	rows, err := s.db.r.QueryContext(ctx, `SELECT r.id FROM resources r JOIN resource_history h ON h.seq=r.seq WHERE r.tenant=? AND r.type='Location' AND r.deleted=0 AND json_extract(h.body, '$.name')=?`, tenant, loc)
	if err != nil {
		return "", fmt.Errorf("location: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return "", err
		}
		ids = append(ids, id)
	}
	switch len(ids) {
	case 0:
		return "", fmt.Errorf("location %q: %w", loc, lane.ErrNotFound)
	case 1:
		return ids[0], nil
	}
	return "", lane.Invalidf("location %q names several Locations; use the id", loc)
}

// LaneInfo is an enrolled lane.
type LaneInfo struct {
	ID, Tenant, Location, Name string
	Serial                     string
	Issued, NotAfter           time.Time
	// Revoked is zero while the lane may connect.
	Revoked time.Time
}

// Lanes lists enrolled lanes of tenant ("" for all), oldest first.
func (s *Server) Lanes(ctx context.Context, tenant string) ([]LaneInfo, error) {
	rows, err := s.db.r.QueryContext(ctx, `SELECT id, tenant, location, name, serial, issued, not_after, revoked FROM lanes
		WHERE ?='' OR tenant=? ORDER BY issued, id`, tenant, tenant)
	if err != nil {
		return nil, fmt.Errorf("lanes: %w", err)
	}
	defer rows.Close()
	var out []LaneInfo
	for rows.Next() {
		var l LaneInfo
		var iss, na int64
		var rev sql.NullInt64
		if err := rows.Scan(&l.ID, &l.Tenant, &l.Location, &l.Name, &l.Serial, &iss, &na, &rev); err != nil {
			return nil, err
		}
		l.Issued, l.NotAfter = time.UnixMilli(iss), time.UnixMilli(na)
		if rev.Valid {
			l.Revoked = time.UnixMilli(rev.Int64)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// RevokeLane denies a lane's certificate from now on (the next request it
// makes is refused with 401). Revoking a revoked lane changes nothing.
func (s *Server) RevokeLane(ctx context.Context, laneID string) error {
	return s.db.write(ctx, func(tx *sql.Tx) error {
		var rev sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT revoked FROM lanes WHERE id=?`, laneID).Scan(&rev)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("lane %q: %w", laneID, lane.ErrNotFound)
		}
		if err != nil || rev.Valid {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE lanes SET revoked=? WHERE id=?`, s.clock.Now().UnixMilli(), laneID)
		return err
	})
}

// User is a staff account. Its ID is also the id of its Practitioner
// resource, and the value lanes send in X-Examlane-User.
type User struct {
	Tenant string
	ID     string
	// Login is the sign-in name (optional until the sign-in work).
	Login     string
	Name      string
	Roles     []lane.Role
	Locations []string // Location ids
	Disabled  bool
}

// AddUser creates a staff account with its Practitioner and
// PractitionerRole resources. An empty ID gets a new one.
func (s *Server) AddUser(ctx context.Context, u User) (User, error) {
	u.Name = strings.TrimSpace(u.Name)
	if u.Name == "" || strings.IndexFunc(u.Name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return u, fmt.Errorf("add user: %w", lane.Invalidf("display name: want printable text"))
	}
	if len(u.Roles) == 0 {
		return u, fmt.Errorf("add user: %w", lane.Invalidf("at least one role"))
	}
	for _, r := range u.Roles {
		if _, err := lane.ParseRole(string(r)); err != nil {
			return u, fmt.Errorf("add user: %w", lane.Invalidf("%v", err))
		}
	}
	if err := s.checkTenant(ctx, u.Tenant); err != nil {
		return u, fmt.Errorf("add user: %w", err)
	}
	for i, l := range u.Locations {
		id, err := s.resolveLocation(ctx, u.Tenant, l)
		if err != nil {
			return u, fmt.Errorf("add user: %w", err)
		}
		u.Locations[i] = id
	}
	err := s.withWrite(ctx, identity{Tenant: u.Tenant, User: adminUser}, func(w *writeCtx) error {
		return w.addUser(ctx, &u)
	})
	if err != nil {
		return u, fmt.Errorf("add user: %w", err)
	}
	return u, nil
}

// addUser writes a staff account and its resources in w.
func (w *writeCtx) addUser(ctx context.Context, u *User) error {
	st, _, err := w.create(ctx, practitionerResource(u), u.ID, "")
	if err != nil {
		return err
	}
	u.ID = st.ID
	for _, pr := range practitionerRoleResources(u) {
		if _, _, err := w.create(ctx, pr, "", ""); err != nil {
			return err
		}
	}
	var login sql.NullString
	if u.Login != "" {
		login = sql.NullString{String: u.Login, Valid: true}
	}
	roles := make([]string, len(u.Roles))
	for i, r := range u.Roles {
		roles[i] = string(r)
	}
	_, err = w.tx.ExecContext(ctx, `INSERT INTO staff(tenant, id, login, display_name, roles, locations, disabled, created, updated) VALUES(?,?,?,?,?,?,0,?,?)`,
		u.Tenant, u.ID, login, u.Name, strings.Join(roles, ","), strings.Join(u.Locations, ","), w.at.UnixMilli(), w.at.UnixMilli())
	if err != nil && strings.Contains(err.Error(), "UNIQUE") {
		return fmt.Errorf("login %q: %w", u.Login, errExists)
	}
	return err
}

// personName splits a display name into a FHIR HumanName.
func personName(display string) map[string]any {
	f := strings.Fields(display)
	n := map[string]any{"use": "official", "text": display, "family": f[len(f)-1]}
	if len(f) > 1 {
		g := make([]any, 0, len(f)-1)
		for _, x := range f[:len(f)-1] {
			g = append(g, x)
		}
		n["given"] = g
	}
	return n
}

// practitionerResource is a staff member's Practitioner.
func practitionerResource(u *User) map[string]any {
	m := map[string]any{
		"resourceType": "Practitioner",
		"active":       !u.Disabled,
		"name":         []any{personName(u.Name)},
	}
	if u.ID != "" {
		m["identifier"] = []any{map[string]any{"system": "urn:examlane:staff", "value": u.ID}}
	}
	return m
}

// roleSystem is the code system of lane roles (as syncclient/fhir writes
// them).
const roleSystem = "https://examlane.org/fhir/CodeSystem/role"

// practitionerRoleResources are a staff member's PractitionerRoles, one
// per role (coded in roleSystem with the lane.Role string), each listing the
// member's locations.
func practitionerRoleResources(u *User) []map[string]any {
	var locs []any
	for _, l := range u.Locations {
		locs = append(locs, map[string]any{"reference": "Location/" + l})
	}
	var out []map[string]any
	for _, r := range u.Roles {
		m := map[string]any{
			"resourceType": "PractitionerRole",
			"active":       !u.Disabled,
			"practitioner": map[string]any{"reference": "Practitioner/" + u.ID},
			"code":         []any{codeable(roleSystem, string(r), string(r))},
		}
		if len(locs) > 0 {
			m["location"] = locs
		}
		out = append(out, m)
	}
	return out
}

// Users lists the staff accounts of tenant.
func (s *Server) Users(ctx context.Context, tenant string) ([]User, error) {
	rows, err := s.db.r.QueryContext(ctx, `SELECT id, coalesce(login, ''), display_name, roles, locations, disabled FROM staff WHERE tenant=? ORDER BY display_name, id`, tenant)
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u := User{Tenant: tenant}
		var roles, locs string
		if err := rows.Scan(&u.ID, &u.Login, &u.Name, &roles, &locs, &u.Disabled); err != nil {
			return nil, err
		}
		for _, r := range strings.Split(roles, ",") {
			u.Roles = append(u.Roles, lane.Role(r))
		}
		if locs != "" {
			u.Locations = strings.Split(locs, ",")
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// DisableUser disables a staff account and marks its Practitioner and
// PractitionerRole inactive (new versions, so lanes pull the change).
func (s *Server) DisableUser(ctx context.Context, tenant, id string) error {
	return s.withWrite(ctx, identity{Tenant: tenant, User: adminUser}, func(w *writeCtx) error {
		res, err := w.tx.ExecContext(ctx, `UPDATE staff SET disabled=1, updated=? WHERE tenant=? AND id=?`, w.at.UnixMilli(), tenant, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("user %q: %w", id, lane.ErrNotFound)
		}
		targets := []struct{ typ, id string }{{"Practitioner", id}}
		rows, err := w.tx.QueryContext(ctx, `SELECT r.id FROM resources r JOIN resource_history h ON h.seq=r.seq WHERE r.tenant=? AND r.type='PractitionerRole' AND r.deleted=0 AND json_extract(h.body, '$.practitioner.reference')=?`,
			tenant, "Practitioner/"+id)
		if err != nil {
			return err
		}
		for rows.Next() {
			var rid string
			if err := rows.Scan(&rid); err != nil {
				rows.Close()
				return err
			}
			targets = append(targets, struct{ typ, id string }{"PractitionerRole", rid})
		}
		rows.Close()
		for _, t := range targets {
			cur, err := current(ctx, w.tx, tenant, t.typ, t.id)
			if err != nil || cur.Deleted {
				continue
			}
			m, err := parseResource(cur.Body)
			if err != nil {
				return err
			}
			if m["active"] == false {
				continue
			}
			m["active"] = false
			if _, err := w.update(ctx, m, t.typ, t.id, cur.etag()); err != nil {
				return err
			}
		}
		return nil
	})
}
