package directory

import (
	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
)

// Enum values are stored by their proto name (readable in psql and
// independent of the numbers); these convert and check them.

func validKind(k meetingsv1.OrganizationKind) bool {
	_, ok := meetingsv1.OrganizationKind_name[int32(k)]
	return ok && k != meetingsv1.OrganizationKind_ORGANIZATION_KIND_UNSPECIFIED
}

func validBody(b meetingsv1.BodyKind) bool {
	_, ok := meetingsv1.BodyKind_name[int32(b)]
	return ok && b != meetingsv1.BodyKind_BODY_KIND_UNSPECIFIED
}

func validRole(r meetingsv1.PartyRole) bool {
	_, ok := meetingsv1.PartyRole_name[int32(r)]
	return ok && r != meetingsv1.PartyRole_PARTY_ROLE_UNSPECIFIED
}

func validStanding(s meetingsv1.Standing) bool {
	_, ok := meetingsv1.Standing_name[int32(s)]
	return ok && s != meetingsv1.Standing_STANDING_UNSPECIFIED
}

func parseKind(s string) meetingsv1.OrganizationKind {
	return meetingsv1.OrganizationKind(meetingsv1.OrganizationKind_value[s])
}

func parseBody(s string) meetingsv1.BodyKind {
	return meetingsv1.BodyKind(meetingsv1.BodyKind_value[s])
}

func parseRole(s string) meetingsv1.PartyRole {
	return meetingsv1.PartyRole(meetingsv1.PartyRole_value[s])
}

func parseStanding(s string) meetingsv1.Standing {
	return meetingsv1.Standing(meetingsv1.Standing_value[s])
}

// roleRankSQL orders memberships (alias m) most senior role first. The
// enum numbers happen to follow seniority, but the table stores names.
const roleRankSQL = `CASE m.role
	WHEN 'PARTY_ROLE_SECRETARY' THEN 1
	WHEN 'PARTY_ROLE_DEPUTY_SECRETARY' THEN 2
	WHEN 'PARTY_ROLE_COMMITTEE_MEMBER' THEN 3
	WHEN 'PARTY_ROLE_MEMBER' THEN 4
	ELSE 5 END`
