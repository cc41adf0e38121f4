package domain

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	votingv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/voting/v1"
)

// Rules decide a poll: the quorum (present * QuorumDen >= members *
// QuorumNum; 0/1 means none) and the majority needed against a base.
// Majority UNSPECIFIED means plurality only (single and multiple choice).
type Rules struct {
	QuorumNum, QuorumDen int
	Majority             votingv1.Majority
	Base                 votingv1.MajorityBase
}

// Proto is the rules as the contract shows them.
func (r Rules) Proto() *votingv1.Rules {
	return &votingv1.Rules{QuorumNumerator: int32(r.QuorumNum), QuorumDenominator: int32(r.QuorumDen),
		Majority: r.Majority, MajorityBase: r.Base}
}

// IsMotionLike reports whether a poll is decided by its first choice
// ("agree") reaching the majority: motions and written opinion polls
// always, a show of hands when it has the motion's choices.
func IsMotionLike(kind votingv1.PollKind, choices []Choice) bool {
	switch kind {
	case votingv1.PollKind_POLL_KIND_MOTION, votingv1.PollKind_POLL_KIND_WRITTEN_OPINION:
		return true
	case votingv1.PollKind_POLL_KIND_SHOW_OF_HANDS:
		return len(choices) > 0 && choices[0].ID == ChoiceAgree
	}
	return false
}

// EffectiveRules fills the kind's defaults into the requested rules: quorum
// two thirds of the members present (none for a written opinion poll);
// a motion, written opinion or show of hands on a motion passes with more
// than half of all members agreeing (the Party Charter's default for a
// party body's resolution); an election elects with more than half of the
// election base (190-QĐ/TW); single and multiple choice are plurality
// unless a majority is asked for.
func EffectiveRules(kind votingv1.PollKind, choices []Choice, req *votingv1.Rules) (Rules, []Violation) {
	r := Rules{QuorumNum: int(req.GetQuorumNumerator()), QuorumDen: int(req.GetQuorumDenominator()),
		Majority: req.GetMajority(), Base: req.GetMajorityBase()}
	var vs []Violation
	switch {
	case r.QuorumNum < 0:
		vs = append(vs, Violation{"rules.quorum_numerator", ReasonOutOfRange, "must not be negative"})
	case r.QuorumDen < 0:
		vs = append(vs, Violation{"rules.quorum_denominator", ReasonOutOfRange, "must not be negative"})
	case r.QuorumNum == 0 && r.QuorumDen == 0:
		if kind == votingv1.PollKind_POLL_KIND_WRITTEN_OPINION {
			r.QuorumNum, r.QuorumDen = 0, 1
		} else {
			r.QuorumNum, r.QuorumDen = 2, 3
		}
	case r.QuorumDen == 0:
		vs = append(vs, Violation{"rules.quorum_denominator", ReasonRequired, "must be set with quorum_numerator (0/1 means no quorum)"})
	case r.QuorumNum > r.QuorumDen:
		vs = append(vs, Violation{"rules.quorum_numerator", ReasonOutOfRange, "must be at most quorum_denominator (a quorum of more than all members)"})
	}
	if _, ok := votingv1.Majority_name[int32(r.Majority)]; !ok {
		vs = append(vs, Violation{"rules.majority", ReasonUnknownValue, fmt.Sprintf("unknown majority %d", r.Majority)})
	}
	if _, ok := votingv1.MajorityBase_name[int32(r.Base)]; !ok {
		vs = append(vs, Violation{"rules.majority_base", ReasonUnknownValue, fmt.Sprintf("unknown majority base %d", r.Base)})
	}
	election := kind == votingv1.PollKind_POLL_KIND_ELECTION
	if r.Majority == votingv1.Majority_MAJORITY_UNSPECIFIED &&
		(election || IsMotionLike(kind, choices) || r.Base != votingv1.MajorityBase_MAJORITY_BASE_UNSPECIFIED) {
		r.Majority = votingv1.Majority_MAJORITY_MORE_THAN_HALF
	}
	if r.Majority != votingv1.Majority_MAJORITY_UNSPECIFIED && r.Base == votingv1.MajorityBase_MAJORITY_BASE_UNSPECIFIED {
		if election {
			r.Base = votingv1.MajorityBase_MAJORITY_BASE_ELECTION
		} else {
			r.Base = votingv1.MajorityBase_MAJORITY_BASE_ALL_MEMBERS
		}
	}
	return r, vs
}

// ParseQuorumRule reads the meetings service's quorum rule ("2/3",
// Meeting.quorum.rule: the organisation's rule copied onto the meeting), so
// a meeting's poll defaults to the quorum its organisation set.
func ParseQuorumRule(s string) (num, den int, ok bool) {
	n, d, found := strings.Cut(strings.TrimSpace(s), "/")
	if !found {
		return 0, 0, false
	}
	num, err1 := strconv.Atoi(n)
	den, err2 := strconv.Atoi(d)
	if err1 != nil || err2 != nil || num <= 0 || den <= 0 || num > den {
		return 0, 0, false
	}
	return num, den, true
}

// Reaches reports whether votes meet majority m against base, with exact
// integers: more than half is votes*2 > base, two thirds is votes*3 >=
// base*2. Zero votes never pass (two thirds of an empty base would).
func Reaches(m votingv1.Majority, votes, base int) bool {
	if votes <= 0 {
		return false
	}
	switch m {
	case votingv1.Majority_MAJORITY_MORE_THAN_HALF:
		return votes*2 > base
	case votingv1.Majority_MAJORITY_TWO_THIRDS:
		return votes*3 >= base*2
	}
	return false
}

// Needed is the smallest number of votes that Reaches the majority.
func Needed(m votingv1.Majority, base int) int {
	switch m {
	case votingv1.Majority_MAJORITY_MORE_THAN_HALF:
		return base/2 + 1
	case votingv1.Majority_MAJORITY_TWO_THIRDS:
		return max(1, (base*2+2)/3)
	}
	return 0
}

// QuorumReached: present * den >= members * num.
func QuorumReached(r Rules, members, present int) bool {
	return present*r.QuorumDen >= members*r.QuorumNum
}

// Roll is who could take part when the poll closed: the voting (official)
// members convened (less those excused from party activities and absent),
// those of them present, the election base (members less those absent with
// an approved reason) and the voters entitled to cast a ballot.
type Roll struct {
	Members, Present, ElectionBase, Entitled int
}

// Poll is what counting needs to know of a poll.
type Poll struct {
	Kind    votingv1.PollKind
	Choices []Choice
	Min     int // multiple choice
	Max     int
	Seats   int // election
	Rules   Rules
}

// Surplus: an election with more candidates than seats, where the voter
// keeps the names they elect and strikes out the rest.
func (p Poll) Surplus() bool {
	return p.Kind == votingv1.PollKind_POLL_KIND_ELECTION && len(p.Choices) > p.Seats
}

// CheckBallot checks a ballot's choices when it is cast: each on the
// ballot and once, and as many as the kind asks. An election ballot is
// always accepted; keeping too many names or none makes it invalid when
// counted (Valid), not refused.
func (p Poll) CheckBallot(choiceIDs []string) []Violation {
	var vs []Violation
	seen := map[string]int{}
	for i, id := range choiceIDs {
		field := fmt.Sprintf("choice_ids[%d]", i)
		if !slices.ContainsFunc(p.Choices, func(c Choice) bool { return c.ID == id }) {
			vs = append(vs, Violation{field, ReasonUnknownValue, fmt.Sprintf("%q is not on the ballot", id)})
			continue
		}
		if j, dup := seen[id]; dup {
			vs = append(vs, Violation{field, ReasonDuplicate, fmt.Sprintf("is the same as choice_ids[%d]", j)})
			continue
		}
		seen[id] = i
	}
	if len(vs) > 0 {
		return vs
	}
	n := len(choiceIDs)
	switch p.Kind {
	case votingv1.PollKind_POLL_KIND_MOTION, votingv1.PollKind_POLL_KIND_SINGLE_CHOICE, votingv1.PollKind_POLL_KIND_WRITTEN_OPINION:
		if n == 0 {
			return []Violation{{"choice_ids", ReasonRequired, "choose one"}}
		}
		if n > 1 {
			return []Violation{{"choice_ids", ReasonTooMany, fmt.Sprintf("must be at most 1 choice, got %d", n)}}
		}
	case votingv1.PollKind_POLL_KIND_MULTIPLE_CHOICE:
		if n < p.Min {
			return []Violation{{"choice_ids", ReasonTooFew, fmt.Sprintf("needs at least %d choices, got %d", p.Min, n)}}
		}
		if n > p.Max {
			return []Violation{{"choice_ids", ReasonTooMany, fmt.Sprintf("must be at most %d choices, got %d", p.Max, n)}}
		}
	}
	return nil
}

// Valid reports whether an accepted ballot counts: an election ballot with
// a surplus of candidates is invalid when it keeps more names than seats or
// strikes out every name (190-QĐ/TW); every other accepted ballot is valid.
func (p Poll) Valid(choiceIDs []string) bool {
	if p.Surplus() {
		return len(choiceIDs) >= 1 && len(choiceIDs) <= p.Seats
	}
	return true
}

// Ballot is one counted ballot.
type Ballot struct {
	Choices []string
	Valid   bool
}

// Count decides a poll from its ballots and the roll when it closed.
func Count(p Poll, roll Roll, ballots []Ballot) *votingv1.Result {
	votes := make(map[string]int, len(p.Choices))
	valid := 0
	for _, b := range ballots {
		if !b.Valid {
			continue
		}
		valid++
		for _, id := range b.Choices {
			votes[id]++
		}
	}
	return decide(p, roll, votes, len(ballots), valid)
}

// CountHands decides a show of hands from the counts the minute-taker
// entered: each raised hand is one valid ballot.
func CountHands(p Poll, roll Roll, hands map[string]int) *votingv1.Result {
	cast := 0
	for _, n := range hands {
		cast += n
	}
	return decide(p, roll, hands, cast, cast)
}

func decide(p Poll, roll Roll, votes map[string]int, cast, valid int) *votingv1.Result {
	r := &votingv1.Result{
		BallotsCast: int32(cast), ValidBallots: int32(valid), InvalidBallots: int32(cast - valid),
		Entitled: int32(roll.Entitled), Members: int32(roll.Members), Present: int32(roll.Present),
	}
	noSurplusElection := p.Kind == votingv1.PollKind_POLL_KIND_ELECTION && !p.Surplus()
	for _, c := range p.Choices {
		cc := &votingv1.ChoiceCount{ChoiceId: c.ID, Label: c.Label, Count: int32(votes[c.ID])}
		if noSurplusElection {
			cc.Against = int32(valid - votes[c.ID])
		}
		r.Counts = append(r.Counts, cc)
	}
	base := 0
	switch p.Rules.Base {
	case votingv1.MajorityBase_MAJORITY_BASE_ALL_MEMBERS:
		base = roll.Members
	case votingv1.MajorityBase_MAJORITY_BASE_PRESENT:
		base = roll.Present
	case votingv1.MajorityBase_MAJORITY_BASE_VALID_VOTES:
		base = valid
	case votingv1.MajorityBase_MAJORITY_BASE_ELECTION:
		base = roll.ElectionBase
	}
	if p.Rules.Majority != votingv1.Majority_MAJORITY_UNSPECIFIED {
		r.Base, r.Needed = int32(base), int32(Needed(p.Rules.Majority, base))
		r.Rule = fmt.Sprintf("%s %s (%d/%d)", majorityText(p.Rules.Majority), baseText(p.Rules.Base), r.Needed, base)
	} else {
		r.Rule = "nhiều phiếu nhất"
	}
	r.QuorumReached = QuorumReached(p.Rules, roll.Members, roll.Present)
	if !r.QuorumReached {
		need := ceilDiv(roll.Members*p.Rules.QuorumNum, p.Rules.QuorumDen)
		r.Outcome = votingv1.Outcome_OUTCOME_NO_QUORUM
		r.Rule = fmt.Sprintf("số đảng viên có mặt ít nhất %d/%d tổng số (%d/%d)", p.Rules.QuorumNum, p.Rules.QuorumDen, need, roll.Members)
		r.Summary = fmt.Sprintf("Không đủ số đảng viên có mặt để biểu quyết: có mặt %d/%d, cần ít nhất %d", roll.Present, roll.Members, need)
		return r
	}
	switch {
	case p.Kind == votingv1.PollKind_POLL_KIND_ELECTION:
		elect(p, r, votes, base)
	case IsMotionLike(p.Kind, p.Choices):
		agree := votes[p.Choices[0].ID]
		verdict := "Không thông qua"
		r.Outcome = votingv1.Outcome_OUTCOME_FAILED
		if Reaches(p.Rules.Majority, agree, base) {
			verdict, r.Outcome = "Thông qua", votingv1.Outcome_OUTCOME_PASSED
		}
		r.Summary = fmt.Sprintf("%s: %s; cần %s", verdict, countsText(r.Counts, true), r.Rule)
	default:
		plurality(p, r, votes, base)
	}
	return r
}

// elect applies 190-QĐ/TW: more than half of the base elects; more
// passing than seats: most votes win; a tie at the last seat is a runoff.
func elect(p Poll, r *votingv1.Result, votes map[string]int, base int) {
	var passing []Choice
	for _, c := range p.Choices {
		if Reaches(p.Rules.Majority, votes[c.ID], base) {
			passing = append(passing, c)
		}
	}
	slices.SortStableFunc(passing, func(a, b Choice) int { return cmp.Compare(votes[b.ID], votes[a.ID]) })
	var elected, tied []Choice
	if len(passing) <= p.Seats {
		elected = passing
	} else {
		cutoff := votes[passing[p.Seats-1].ID]
		var at []Choice
		for _, c := range passing {
			switch v := votes[c.ID]; {
			case v > cutoff:
				elected = append(elected, c)
			case v == cutoff:
				at = append(at, c)
			}
		}
		if len(elected)+len(at) == p.Seats {
			elected = append(elected, at...)
		} else {
			tied = at
		}
	}
	for _, c := range elected {
		r.ElectedChoiceIds = append(r.ElectedChoiceIds, c.ID)
	}
	for _, c := range tied {
		r.TiedChoiceIds = append(r.TiedChoiceIds, c.ID)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Kết quả bầu cử: %d phiếu thu về, %d hợp lệ, %d không hợp lệ; ", r.BallotsCast, r.ValidBallots, r.InvalidBallots)
	switch {
	case len(tied) > 0:
		r.Outcome = votingv1.Outcome_OUTCOME_RUNOFF
		if len(elected) > 0 {
			fmt.Fprintf(&b, "trúng cử: %s; ", namesWithVotes(elected, votes))
		}
		fmt.Fprintf(&b, "phải bầu lại giữa: %s (cùng %d phiếu) cho %d chỗ còn lại", names(tied), votes[tied[0].ID], p.Seats-len(elected))
	case len(elected) == p.Seats:
		r.Outcome = votingv1.Outcome_OUTCOME_ELECTED
		fmt.Fprintf(&b, "trúng cử: %s", namesWithVotes(elected, votes))
	default:
		r.Outcome = votingv1.Outcome_OUTCOME_SEATS_UNFILLED
		if len(elected) > 0 {
			fmt.Fprintf(&b, "trúng cử: %s; ", namesWithVotes(elected, votes))
		} else {
			b.WriteString("không ai trúng cử; ")
		}
		fmt.Fprintf(&b, "chưa đủ số lượng cần bầu (%d/%d)", len(elected), p.Seats)
	}
	fmt.Fprintf(&b, "; cần %s", r.Rule)
	r.Summary = b.String()
}

// plurality: the most chosen choices; with a majority rule, the single top
// choice must also reach it.
func plurality(p Poll, r *votingv1.Result, votes map[string]int, base int) {
	top := 0
	for _, c := range p.Choices {
		top = max(top, votes[c.ID])
	}
	var tops []Choice
	if top > 0 {
		for _, c := range p.Choices {
			if votes[c.ID] == top {
				tops = append(tops, c)
				r.TopChoiceIds = append(r.TopChoiceIds, c.ID)
			}
		}
	}
	lead := "không có phiếu nào"
	if len(tops) > 0 {
		lead = fmt.Sprintf("%s (%d phiếu)", names(tops), top)
	}
	if p.Rules.Majority == votingv1.Majority_MAJORITY_UNSPECIFIED {
		r.Outcome = votingv1.Outcome_OUTCOME_PLURALITY
		r.Summary = fmt.Sprintf("Nhiều phiếu nhất: %s; %s", lead, countsText(r.Counts, false))
		return
	}
	if len(tops) == 1 && Reaches(p.Rules.Majority, top, base) {
		r.Outcome = votingv1.Outcome_OUTCOME_PASSED
		r.Summary = fmt.Sprintf("Thông qua: %s; %s; cần %s", lead, countsText(r.Counts, false), r.Rule)
		return
	}
	r.Outcome = votingv1.Outcome_OUTCOME_FAILED
	r.Summary = fmt.Sprintf("Không thông qua: nhiều phiếu nhất %s; %s; cần %s", lead, countsText(r.Counts, false), r.Rule)
}

func ceilDiv(a, b int) int {
	if b <= 0 {
		return 0
	}
	return (a + b - 1) / b
}

func majorityText(m votingv1.Majority) string {
	if m == votingv1.Majority_MAJORITY_TWO_THIRDS {
		return "ít nhất hai phần ba"
	}
	return "quá nửa"
}

func baseText(b votingv1.MajorityBase) string {
	switch b {
	case votingv1.MajorityBase_MAJORITY_BASE_PRESENT:
		return "số đảng viên có mặt"
	case votingv1.MajorityBase_MAJORITY_BASE_VALID_VOTES:
		return "số phiếu hợp lệ"
	case votingv1.MajorityBase_MAJORITY_BASE_ELECTION:
		return "số đảng viên được triệu tập (trừ người vắng mặt có lý do, được miễn sinh hoạt)"
	}
	return "tổng số đảng viên"
}

// countsText: "12 tán thành, 2 không tán thành, 1 không biểu quyết" (a
// motion's answers, lower-cased inside the sentence) or "Phương án A: 7,
// Phương án B: 3" (labels that may be names, kept as written).
func countsText(counts []*votingv1.ChoiceCount, motion bool) string {
	parts := make([]string, 0, len(counts))
	for _, c := range counts {
		if motion {
			parts = append(parts, fmt.Sprintf("%d %s", c.GetCount(), lowerFirst(c.GetLabel())))
		} else {
			parts = append(parts, fmt.Sprintf("%s: %d", c.GetLabel(), c.GetCount()))
		}
	}
	return strings.Join(parts, ", ")
}

// lowerFirst lower-cases a label's first letter ("Tán thành" inside a
// sentence).
func lowerFirst(s string) string {
	for i, r := range s {
		return strings.ToLower(string(r)) + s[i+len(string(r)):]
	}
	return s
}

func names(cs []Choice) string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Label
	}
	return strings.Join(out, ", ")
}

func namesWithVotes(cs []Choice, votes map[string]int) string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = fmt.Sprintf("%s (%d phiếu)", c.Label, votes[c.ID])
	}
	return strings.Join(out, ", ")
}
