package directory

import (
	"slices"

	"github.com/ecabinet/ecabinet/services/platform/identity"
)

// Who may do what in the directory (brief of issue 3):
//   - reads: members of the organisation and its administrators (whose
//     AdminOrgs already include every organisation below the ones they
//     administer);
//   - writes: administrators of the organisation; a top-level organisation
//     only a system administrator.
// Anything a caller may not read is reported as not found, so ids cannot be
// probed across organisations.

func canRead(c identity.Claims, orgID string) bool { return c.InOrg(orgID) || c.IsOrgAdmin(orgID) }

func isSystemAdmin(c identity.Claims) bool { return c.HasRole(identity.RoleSystemAdmin) }

// administersAny reports whether the caller administers some organisation,
// the least it takes to create a person (who belongs to no organisation
// until a membership is added).
func administersAny(c identity.Claims) bool { return isSystemAdmin(c) || len(uuids(c.AdminOrgs)) > 0 }

// visibleOrgs returns the organisations whose members the caller may read:
// all of them for a system administrator (all = true), else those they
// belong to or administer.
func visibleOrgs(c identity.Claims) (ids []string, all bool) {
	if isSystemAdmin(c) {
		return nil, true
	}
	ids = uuids(append(slices.Clone(c.Orgs), c.AdminOrgs...))
	slices.Sort(ids)
	return slices.Compact(ids), false
}

// uuids drops ids that cannot name a directory organisation (tokens minted
// by hand for tests and scripts may carry any string), so they can be sent
// to PostgreSQL as uuid[].
func uuids(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if isUUID(id) {
			out = append(out, id)
		}
	}
	return out
}
